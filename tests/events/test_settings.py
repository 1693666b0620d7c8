"""Webhook settings: validated before anything is stored, the secret sealed, cached and refreshed."""

import asyncio

import pytest
from sqlalchemy import select

from mailyard.errors import MailyardError
from mailyard.events.records import SettingRecord
from mailyard.events.settings import SettingsService, WebhookSettings
from mailyard.runtime import Runtime


async def test_defaults_are_disabled_all_events_no_url_no_secret(runtime: Runtime) -> None:
    settings = await runtime.settings_store.webhook_settings()
    assert settings == WebhookSettings(service_url=runtime.settings.base_url)
    assert settings.webhook_events == "*" and not settings.service_secret_set


async def test_update_stores_every_setting(runtime: Runtime) -> None:
    updated = await runtime.settings_store.update({
        "webhooksEnabled": True, "webhooks": "https://hooks.example.com/in?x=1",
        "webhookEvents": ["messageNew", "accountAdded", "messageNew"], "serviceUrl": "http://mailyard.example:3000",
        "serviceSecret": "s3cret",
    })
    assert updated == WebhookSettings(True, "https://hooks.example.com/in?x=1", ["messageNew", "accountAdded"],
                                      "http://mailyard.example:3000", "s3cret")
    fresh = SettingsService(runtime.db, runtime.box)
    assert await fresh.webhook_settings() == updated


async def test_service_secret_is_stored_encrypted(runtime: Runtime) -> None:
    await runtime.settings_store.update({"serviceSecret": "plain-text-secret"})
    rows = await runtime.db.read(select(SettingRecord.key, SettingRecord.value, SettingRecord.secret))
    assert "plain-text-secret" not in repr(rows)
    sealed = next(r.secret for r in rows if r.key == "serviceSecret")
    assert runtime.box.decrypt(sealed) == "plain-text-secret"


async def test_null_or_empty_clears_urls_and_secret(runtime: Runtime) -> None:
    store = runtime.settings_store
    await store.update({"webhooks": "http://a.example/", "serviceUrl": "http://b.example/", "serviceSecret": "x"})
    cleared = await store.update({"webhooks": "", "serviceUrl": None, "serviceSecret": None})
    # a cleared serviceUrl falls back to the URL Mailyard itself is reached at
    assert (cleared.webhooks, cleared.service_url, cleared.service_secret) == (
        None, runtime.settings.base_url, None)


@pytest.mark.parametrize("events", ["*", ["*"], ["messageNew", "*"], None])
async def test_star_or_null_means_every_event(runtime: Runtime, events: object) -> None:
    await runtime.settings_store.update({"webhookEvents": ["messageNew"]})
    settings = await runtime.settings_store.update({"webhookEvents": events})
    assert settings.webhook_events == "*" and settings.wants("anything")


async def test_empty_event_list_lets_nothing_through(runtime: Runtime) -> None:
    settings = await runtime.settings_store.update({"webhookEvents": []})
    assert settings.webhook_events == [] and not settings.wants("messageNew")


@pytest.mark.parametrize(("changes", "field"), [
    ({"webhooksEnabled": "yes"}, "webhooksEnabled"),
    ({"webhooksEnabled": None}, "webhooksEnabled"),
    ({"webhooks": "ftp://example.com/"}, "webhooks"),
    ({"webhooks": "not a url"}, "webhooks"),
    ({"webhooks": "http://"}, "webhooks"),
    ({"webhooks": "http://example.com:99999/"}, "webhooks"),
    ({"webhooks": 5}, "webhooks"),
    ({"webhooks": "http://example.com/" + "a" * 3000}, "webhooks"),
    ({"serviceUrl": "example.com"}, "serviceUrl"),
    ({"webhookEvents": ["messageNew", "noSuchEvent"]}, "webhookEvents"),
    ({"webhookEvents": "messageNew"}, "webhookEvents"),
    ({"webhookEvents": [1]}, "webhookEvents"),
    ({"serviceSecret": 42}, "serviceSecret"),
    ({"serviceSecret": "x" * 2000}, "serviceSecret"),
    ({"notifyHeaders": []}, "notifyHeaders"),
])
async def test_bad_value_is_refused_naming_the_field(runtime: Runtime, changes: dict, field: str) -> None:
    with pytest.raises(MailyardError) as caught:
        await runtime.settings_store.update(changes)
    assert caught.value.code == "InputValidationError"
    assert [e.field for e in caught.value.errors] == [field]
    assert f'"{field}"' in caught.value.message


async def test_one_bad_key_changes_nothing(runtime: Runtime) -> None:
    with pytest.raises(MailyardError) as caught:
        await runtime.settings_store.update({"webhooksEnabled": True, "webhooks": "http://ok.example/",
                                             "webhookEvents": ["bogus"], "serviceSecret": "never-stored"})
    assert [e.field for e in caught.value.errors] == ["webhookEvents"]
    assert "never-stored" not in str(caught.value)
    assert await runtime.settings_store.webhook_settings() == WebhookSettings(service_url=runtime.settings.base_url)
    assert await runtime.db.read(select(SettingRecord.key)) == []


async def test_every_bad_field_is_reported(runtime: Runtime) -> None:
    with pytest.raises(MailyardError) as caught:
        await runtime.settings_store.update({"webhooks": "nope", "serviceUrl": "nope"})
    assert [e.field for e in caught.value.errors] == ["webhooks", "serviceUrl"]


async def test_reads_are_cached_and_a_change_elsewhere_shows_after_max_age(runtime: Runtime) -> None:
    reader = SettingsService(runtime.db, runtime.box, max_age=0.2)
    other_process = SettingsService(runtime.db, runtime.box)
    assert (await reader.webhook_settings()).webhooks_enabled is False
    await other_process.update({"webhooksEnabled": True})
    assert (await reader.webhook_settings()).webhooks_enabled is False  # still cached
    await asyncio.sleep(0.25)
    assert (await reader.webhook_settings()).webhooks_enabled is True


async def test_own_update_refreshes_the_cache_at_once(runtime: Runtime) -> None:
    store = SettingsService(runtime.db, runtime.box, max_age=3600)
    await store.webhook_settings()
    await store.update({"webhooks": "http://new.example/"})
    assert (await store.webhook_settings()).webhooks == "http://new.example/"


async def test_default_service_url_applies_until_one_is_set(runtime: Runtime) -> None:
    store = SettingsService(runtime.db, runtime.box, default_service_url="http://127.0.0.1:3000")
    assert (await store.webhook_settings()).service_url == "http://127.0.0.1:3000"
    assert (await store.update({"serviceUrl": "https://mail.example/"})).service_url == "https://mail.example/"
