"""The add and edit forms over HTTP: validation beside the fields, an id already in use, edits that keep each
server's stored password while taking a changed username, and the Test button (against Dovecot)."""

from __future__ import annotations

from mailyard.web.form_errors import place
from mailyard.web.pages import account_url
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.accounts import imap_body, smtp_body
from tests.support.app import Api
from tests.web.helpers import create_account, sign_in, submit

NEW = "/dashboard/accounts/new"


async def test_bad_settings_are_shown_beside_their_fields_and_nothing_is_created(api: Api) -> None:
    client = await sign_in(api)
    reply = await submit(client, NEW, NEW, {
        "email": "not-an-address", "password": "typed-password", "imap_host": "bad host!", "imap_port": "70000",
        "action": "save"})
    assert reply.status_code == 422
    for field in ("email", "imap_host", "imap_port"):
        assert f'id="e-{field}"' in reply.text, field
    assert "typed-password" not in reply.text
    assert (await api.get("/v1/accounts")).json()["total"] == 0


async def test_adding_an_id_that_exists_is_refused_beside_the_id_and_changes_nothing(api: Api) -> None:
    await create_account(api, "taken")
    before = await api.runtime.accounts.load_config("taken")
    client = await sign_in(api)
    reply = await submit(client, NEW, NEW, {
        "account": "taken", "name": "Intruder", "email": "other@example.org", "password": "other-password",
        "imap_host": "127.0.0.2", "imap_port": "143", "action": "save"})
    assert reply.status_code == 409
    assert '<p class="error" id="e-account" role="alert">is already the id of another account' in reply.text
    assert 'value="Intruder"' in reply.text and "other-password" not in reply.text  # the form comes back filled
    after = await api.runtime.accounts.load_config("taken")
    assert after == before
    assert (await api.get("/v1/account/taken")).json()["name"] == "Name taken"


async def test_edit_with_empty_password_keeps_the_stored_one(api: Api) -> None:
    await create_account(api, "keeper")
    client = await sign_in(api)
    edit = account_url("keeper", "edit")
    reply = await submit(client, edit, edit, {
        "name": "Renamed", "email": "keeper@example.org", "password": "", "imap_host": "127.0.0.2",
        "imap_port": "10", "imap_user": "keeper", "action": "save"})
    assert reply.headers["location"] == account_url("keeper", notice="updated")
    config = await api.runtime.accounts.load_config("keeper")
    assert config is not None
    assert config.imap["host"] == "127.0.0.2" and config.imap["port"] == 10
    assert config.imap["auth"] == {"user": "keeper", "pass": "s3cret-pw"}
    assert (await api.get("/v1/account/keeper")).json()["name"] == "Renamed"


async def test_edit_takes_a_changed_username_and_keeps_each_servers_own_password(api: Api) -> None:
    await create_account(api, "split", smtp={"host": "127.0.0.1", "port": 9, "secure": False,
                                             "auth": {"user": "split-smtp", "pass": "smtp-only-pw"}})
    client = await sign_in(api)
    edit = account_url("split", "edit")
    fields = {"email": "split@example.org", "imap_host": "127.0.0.1", "imap_port": "9", "smtp_host": "127.0.0.1",
              "smtp_port": "9", "action": "save"}
    # Both usernames changed, no password typed: the new users, the stored passwords.
    reply = await submit(client, edit, edit, {**fields, "imap_user": "new-imap", "smtp_user": "new-smtp",
                                              "password": "", "smtp_pass": ""})
    assert reply.status_code == 303, reply.text
    config = await api.runtime.accounts.load_config("split")
    assert config is not None
    assert config.imap["auth"] == {"user": "new-imap", "pass": "s3cret-pw"}
    assert config.smtp is not None and config.smtp["auth"] == {"user": "new-smtp", "pass": "smtp-only-pw"}
    # A new IMAP password only: SMTP keeps its own.
    reply = await submit(client, edit, edit, {**fields, "imap_user": "new-imap", "smtp_user": "new-smtp",
                                              "password": "fresh-imap-pw", "smtp_pass": ""})
    assert reply.status_code == 303, reply.text
    config = await api.runtime.accounts.load_config("split")
    assert config is not None and config.smtp is not None
    assert config.imap["auth"] == {"user": "new-imap", "pass": "fresh-imap-pw"}
    assert config.smtp["auth"] == {"user": "new-smtp", "pass": "smtp-only-pw"}
    # A new SMTP password only: IMAP keeps its own.
    reply = await submit(client, edit, edit, {**fields, "imap_user": "new-imap", "smtp_user": "new-smtp",
                                              "password": "", "smtp_pass": "fresh-smtp-pw"})
    config = await api.runtime.accounts.load_config("split")
    assert config is not None and config.smtp is not None
    assert config.imap["auth"]["pass"] == "fresh-imap-pw" and config.smtp["auth"]["pass"] == "fresh-smtp-pw"


async def test_smtp_added_on_edit_logs_in_with_the_imap_password(api: Api) -> None:
    await create_account(api, "grows")
    client = await sign_in(api)
    edit = account_url("grows", "edit")
    reply = await submit(client, edit, edit, {"email": "grows@example.org", "imap_host": "127.0.0.1",
                                              "imap_port": "9", "imap_user": "grows", "smtp_host": "127.0.0.1",
                                              "smtp_port": "587", "smtp_user": "grows", "action": "save"})
    assert reply.status_code == 303, reply.text
    config = await api.runtime.accounts.load_config("grows")
    assert config is not None and config.smtp is not None
    assert config.smtp["auth"] == {"user": "grows", "pass": "s3cret-pw"}


async def test_edit_form_test_uses_the_stored_password_unless_one_is_typed(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    reply = await api.post("/v1/account", json={"account": "tested", "email": user.email, "disabled": True,
                                                "imap": imap_body(dovecot, user), "smtp": smtp_body(dovecot, user)})
    assert reply.status_code == 200, reply.text
    client = await sign_in(api)
    fields = {"email": user.email, "imap_host": "localhost", "imap_port": str(dovecot.ports.imaps),
              "imap_secure": "on", "imap_user": user.username, "smtp_host": "localhost",
              "smtp_port": str(dovecot.ports.submission), "smtp_user": user.username, "verify_tls": "on"}
    edit, test = account_url("tested", "edit"), account_url("tested", "test")
    kept = await submit(client, edit, test, {**fields, "password": ""})
    assert kept.json() == {"errors": {}, "checks": {"imap": {"success": True, "error": None},
                                                   "smtp": {"success": True, "error": None}}}
    typed = await submit(client, edit, test, {**fields, "password": "not-the-password"})
    answer = typed.json()
    assert answer["checks"]["imap"]["success"] is False
    assert "IMAP check failed" in answer["errors"]["password"]
    config = await api.runtime.accounts.load_config("tested")
    assert config is not None and config.imap["auth"]["pass"] == user.password  # testing saved nothing


async def test_edit_form_test_takes_a_corrected_username_with_the_stored_password(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    wrong = {"user": "nobody-" + user.username, "pass": user.password}
    reply = await api.post("/v1/account", json={
        "account": "typo", "email": user.email, "disabled": True, "imap": imap_body(dovecot, user, auth=wrong),
        "smtp": smtp_body(dovecot, user, auth=wrong)})
    assert reply.status_code == 200, reply.text
    client = await sign_in(api)
    fields = {"email": user.email, "imap_host": "localhost", "imap_port": str(dovecot.ports.imaps),
              "imap_secure": "on", "smtp_host": "localhost", "smtp_port": str(dovecot.ports.submission),
              "verify_tls": "on", "password": "", "smtp_pass": ""}
    edit = account_url("typo", "edit")
    stale = await submit(client, edit, account_url("typo", "test"), {
        **fields, "imap_user": wrong["user"], "smtp_user": wrong["user"]})
    assert stale.json()["checks"]["imap"]["success"] is False
    fixed = await submit(client, edit, account_url("typo", "test"), {
        **fields, "imap_user": user.username, "smtp_user": user.username})
    assert fixed.json() == {"errors": {}, "checks": {"imap": {"success": True, "error": None},
                                                    "smtp": {"success": True, "error": None}}}
    # The same through the page without JavaScript (the Test button posts the form with action=test).
    page = await submit(client, edit, edit, {**fields, "imap_user": user.username, "smtp_user": user.username,
                                             "action": "test"})
    assert 'data-check="imap">IMAP: works' in page.text and 'data-check="smtp">SMTP: works' in page.text
    config = await api.runtime.accounts.load_config("typo")
    assert config is not None and config.imap["auth"]["user"] == wrong["user"]  # testing saved nothing


def test_errors_of_fields_the_form_does_not_show_go_to_its_top() -> None:
    placed = place({"imap_port": "must be at most 65535", "domain": "is pending", "quota.limit": "is too big"},
                   ("imap_port", "password"))
    assert placed == {"imap_port": "must be at most 65535", "form": "Domain is pending; Quota limit is too big"}
    assert place({"form": "Refused", "x": "is odd"}, ()) == {"form": "Refused; X is odd"}
