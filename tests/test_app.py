"""Health, metrics and the API description."""

from tests.support.app import Api


async def test_health_needs_no_token_and_reports_the_store(api: Api) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["store"] == {"backend": api.runtime.db.backend, "reachable": True}


async def test_metrics_need_metrics_or_admin_scope(api: Api) -> None:
    assert (await api.client.get("/metrics")).status_code == 401
    _, plain = await api.runtime.tokens.create(["read"])
    assert (await api.client.get("/metrics", headers=api.auth(plain))).status_code == 403
    _, metrics = await api.runtime.tokens.create(["metrics"])
    await api.client.get("/health")
    response = await api.client.get("/metrics", headers=api.auth(metrics))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'mailyard_http_requests_total{method="GET",route="/health",status="200"}' in response.text
    assert "mailyard_engine_workers" in response.text


async def test_metrics_count_accounts_by_state(api: Api) -> None:
    await api.post("/v1/account", {"account": "a", "email": "a@example.com", "disabled": True,
                                   "imap": {"host": "imap.example.com", "port": 993}})
    response = await api.get("/metrics")
    assert 'mailyard_accounts{state="disconnected"} 1.0' in response.text


async def test_metrics_token_cannot_read_data(api: Api) -> None:
    _, metrics = await api.runtime.tokens.create(["metrics"])
    assert (await api.client.get("/v1/tokens", headers=api.auth(metrics))).status_code == 403


async def test_openapi_and_docs_are_served(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    assert "/v1/tokens" in spec["paths"]
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey", "apiToken", "accessToken"}
    assert spec["paths"]["/v1/tokens"]["get"]["security"]
    assert "security" not in spec["paths"]["/health"]["get"]
    docs = await api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_unknown_route_is_404_in_the_dialect_shape(api: Api) -> None:
    response = await api.client.get("/v1/nothing-here", headers=api.auth())
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


async def test_openapi_documents_the_msjhub_bodies_with_every_setting(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    create = spec["paths"]["/v2/email-accounts/create"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    expected = {"domain", "local_part", "user_id", "max_email_quota", "allow_nets", "force_otp"}
    assert expected <= set(schema["properties"])
    assert create["security"]


async def test_unknown_v2_route_is_404_in_the_msjhub_shape(api: Api) -> None:
    response = await api.client.get("/v2/nothing-here", headers={"x-api-key": api.admin_token})
    assert response.status_code == 404
    assert response.json() == {"message": "Not found", "errors": []}
