"""The curl examples of the "Managing Accounts" document, with their bodies exactly as written.

Their mail hosts (imap.example.com, imap.gmail.com, …) resolve nowhere in the test DNS, so those
accounts end in `connectError`; the examples that need a live server are repeated against Dovecot in
test_accounts_lifecycle.py.
"""

from typing import Any

from tests.support.app import Api

PASSWORD_EXAMPLE: dict[str, Any] = {
    "account": "user123",
    "name": "John Doe",
    "email": "john@example.com",
    "imap": {"host": "imap.example.com", "port": 993, "secure": True,
             "auth": {"user": "john@example.com", "pass": "password123"}},
    "smtp": {"host": "smtp.example.com", "port": 587, "secure": False,
             "auth": {"user": "john@example.com", "pass": "password123"}},
}


async def test_password_example_registers_the_account(api: Api) -> None:
    response = await api.post("/v1/account", PASSWORD_EXAMPLE)
    assert response.status_code == 200
    assert response.json() == {"account": "user123", "state": "new"}
    body = await api.wait_state("user123", "connectError")
    assert body["lastError"]["serverResponseCode"] == "ENOTFOUND"
    assert "password123" not in str(body)


async def test_posting_an_existing_id_updates_it(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    again = await api.post("/v1/account", {**PASSWORD_EXAMPLE, "name": "Johnny"})
    assert again.json() == {"account": "user123", "state": "existing"}
    assert (await api.get("/v1/account/user123")).json()["name"] == "Johnny"


async def test_null_account_id_is_generated(api: Api) -> None:
    response = await api.post("/v1/account", {**PASSWORD_EXAMPLE, "account": None})
    account = response.json()["account"]
    assert response.json()["state"] == "new"
    assert len(account) == 16 and account.isalnum()


async def test_oauth2_example_keeps_tokens_secret(api: Api) -> None:
    response = await api.post("/v1/account", {
        "account": "user123", "name": "John Doe", "email": "john@gmail.com",
        "oauth2": {"provider": "gmail", "accessToken": "ya29.a0AWY7Ckl...", "refreshToken": "1//0gDj5..."},
    })
    assert response.json() == {"account": "user123", "state": "new"}
    body = await api.wait_state("user123", "connectError")
    assert body["oauth2"] == {"provider": "gmail"}
    assert "ya29" not in str(body) and "1//0gDj5" not in str(body)


async def test_service_account_example_without_token_is_unset(api: Api) -> None:
    await api.post("/v1/account", {
        "account": "user123", "name": "John Doe", "email": "john@company.com",
        "oauth2": {"provider": "gmailService", "auth": {"user": "john@company.com"}},
    })
    body = await api.wait_state("user123", "unset")
    assert body["oauth2"] == {"provider": "gmailService", "auth": {"user": "john@company.com"}}


async def test_authentication_server_example_is_accepted(api: Api) -> None:
    response = await api.post("/v1/account", {
        "account": "user123", "name": "John Doe", "email": "john@outlook.com",
        "imap": {"useAuthServer": True, "host": "outlook.office365.com", "port": 993, "secure": True},
        "smtp": {"useAuthServer": True, "host": "smtp-mail.outlook.com", "port": 587, "secure": False},
    })
    assert response.json() == {"account": "user123", "state": "new"}
    body = await api.wait_state("user123", "authenticationError")
    assert "authentication server" in body["lastError"]["response"]


async def test_get_single_account_has_the_documented_fields(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    body = (await api.get("/v1/account/user123")).json()
    assert {"account", "name", "email", "state", "imap", "smtp", "path", "subconnections", "counters"} <= set(body)
    assert body["imap"] == {"host": "imap.example.com", "port": 993, "secure": True,
                            "auth": {"user": "john@example.com"}}
    assert body["path"] == "*" and body["subconnections"] == []
    assert body["counters"] == {"events": {"accountAdded": 1}}


async def test_list_filters_and_pages_as_documented(api: Api) -> None:
    for i, email in enumerate(["a@gmail.com", "b@outlook.com", "c@GMAIL.com"]):
        await api.post("/v1/account", {**PASSWORD_EXAMPLE, "account": f"user{i}", "email": email})
    listing = (await api.get("/v1/accounts")).json()
    assert listing["total"] == 3 and listing["page"] == 0 and listing["pages"] == 1
    assert [a["account"] for a in listing["accounts"]] == ["user0", "user1", "user2"]
    assert set(listing["accounts"][0]) >= {"account", "name", "email", "state"}
    gmail = (await api.get("/v1/accounts?query=@gmail.com")).json()
    assert [a["account"] for a in gmail["accounts"]] == ["user0", "user2"]
    await api.wait_for("/v1/accounts?state=connectError", lambda b: b["total"] == 3)
    assert (await api.get("/v1/accounts?state=connected")).json()["total"] == 0
    page = (await api.get("/v1/accounts?page=1&pageSize=2")).json()
    assert page == {**page, "total": 3, "page": 1, "pages": 2}
    assert [a["account"] for a in page["accounts"]] == ["user2"]
    assert (await api.get("/v1/accounts?page=1&pageSize=20")).json()["accounts"] == []


async def test_update_basic_information(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    response = await api.put("/v1/account/user123", {"name": "John Doe (Updated)", "email": "john.doe@gmail.com"})
    assert response.json() == {"account": "user123"}
    body = (await api.get("/v1/account/user123")).json()
    assert (body["name"], body["email"]) == ("John Doe (Updated)", "john.doe@gmail.com")


async def test_replace_entire_imap_configuration(api: Api) -> None:
    await api.post("/v1/account", {**PASSWORD_EXAMPLE, "imap": {**PASSWORD_EXAMPLE["imap"], "sentMailPath": "Sent"}})
    await api.put("/v1/account/user123", {"imap": {
        "host": "imap.newserver.com", "port": 993, "secure": True,
        "auth": {"user": "john@newserver.com", "pass": "newpassword"}}})
    body = (await api.get("/v1/account/user123")).json()
    assert body["imap"] == {"host": "imap.newserver.com", "port": 993, "secure": True,
                            "auth": {"user": "john@newserver.com"}}


async def test_sent_mail_path_without_partial_replaces_the_imap_object(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    response = await api.put("/v1/account/user123", {"imap": {"sentMailPath": "Sent Items"}})
    assert response.json() == {"account": "user123"}
    body = await api.wait_state("user123", "connectError")
    assert body["imap"] == {"sentMailPath": "Sent Items"}
    assert body["lastError"]["serverResponseCode"] == "NotConfigured"


async def test_oauth2_token_update_replaces_the_oauth2_object(api: Api) -> None:
    await api.post("/v1/account", {"account": "user123", "email": "john@gmail.com",
                                   "oauth2": {"provider": "gmail", "auth": {"user": "john@gmail.com"}}})
    await api.put("/v1/account/user123", {"oauth2": {"accessToken": "new.access.token",
                                                     "refreshToken": "new.refresh.token"}})
    body = (await api.get("/v1/account/user123")).json()
    assert body["oauth2"] == {}
    assert "new.access.token" not in str(body)


async def test_subconnections_and_path_filtering_are_stored(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    await api.put("/v1/account/user123", {"subconnections": ["\\Sent", "Important", "Projects"]})
    await api.put("/v1/account/user123", {"path": ["INBOX", "\\Sent", "\\Drafts", "Important"]})
    body = (await api.get("/v1/account/user123")).json()
    assert body["subconnections"] == ["\\Sent", "Important", "Projects"]
    assert body["path"] == ["INBOX", "\\Sent", "\\Drafts", "Important"]


async def test_reconnect_answers_as_documented(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    response = await api.client.put("/v1/account/user123/reconnect", headers=api.auth())
    assert response.status_code == 200 and response.json() == {"reconnect": True}
    missing = await api.client.put("/v1/account/nobody/reconnect", headers=api.auth())
    assert missing.status_code == 404
    assert missing.json()["error"] == "Account not found"
    assert missing.json()["code"] == "AccountNotFound"


async def test_disable_and_enable(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    await api.put("/v1/account/user123", {"disabled": True})
    assert (await api.get("/v1/account/user123")).json()["state"] == "disconnected"
    await api.put("/v1/account/user123", {"disabled": False})
    await api.wait_state("user123", "connectError")


async def test_delete_answers_as_documented(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    response = await api.delete("/v1/account/user123")
    assert response.json() == {"account": "user123", "deleted": True}
    assert (await api.get("/v1/account/user123")).status_code == 404
    assert (await api.delete("/v1/account/user123")).status_code == 404


async def test_monitoring_filters_error_states(api: Api) -> None:
    await api.post("/v1/account", PASSWORD_EXAMPLE)
    await api.post("/v1/account", {"account": "svc", "email": "x@company.com",
                                   "oauth2": {"provider": "gmailService", "auth": {"user": "x@company.com"}}})
    errors = await api.wait_for("/v1/accounts?state=connectError", lambda b: b["total"] == 1)
    assert errors["accounts"][0]["account"] == "user123"
    assert errors["accounts"][0]["lastError"]["serverResponseCode"] == "ENOTFOUND"
    assert (await api.get("/v1/accounts?state=authenticationError")).json()["total"] == 0


async def test_verify_example_reports_each_side(api: Api) -> None:
    response = await api.post("/v1/verifyAccount", {"imap": PASSWORD_EXAMPLE["imap"],
                                                    "smtp": PASSWORD_EXAMPLE["smtp"]})
    assert response.status_code == 200
    body = response.json()
    assert body["imap"] == {"success": False, "error": "getaddrinfo ENOTFOUND imap.example.com",
                            "code": "ENOTFOUND"}
    assert body["smtp"]["code"] == "ENOTFOUND"
