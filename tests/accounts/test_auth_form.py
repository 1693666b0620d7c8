"""Hosted-form links: signed, expiring after 24 hours, working once, refusing any change, and running a
limited number of login checks (counted in the store)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from mailyard.accounts.auth_form import MAX_CHECKS, FormLinks, LinkError, redirect_target
from mailyard.errors import MailyardError
from mailyard.runtime import Runtime
from mailyard.store.base import utcnow

BODY = {"account": "user123", "email": "john@gmail.com", "name": "John Doe",
        "redirectUrl": "https://myapp.com/settings"}


def _parts(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["data"][0], query["sig"][0]


async def test_link_points_at_the_form_and_carries_the_request(runtime: Runtime) -> None:
    url = runtime.form_links.create(BODY, "tenant-a")
    assert url.startswith(f"{runtime.settings.base_url}/accounts/new?data=")
    link = await runtime.form_links.open(*_parts(url))
    assert (link.account, link.email, link.name, link.redirect_url, link.tenant) == (
        "user123", "john@gmail.com", "John Doe", "https://myapp.com/settings", "tenant-a")


async def test_a_changed_link_is_refused(runtime: Runtime) -> None:
    data, sig = _parts(runtime.form_links.create(BODY, None))
    other_data, _ = _parts(runtime.form_links.create({**BODY, "account": "someone-else"}, None))
    with pytest.raises(LinkError, match="changed"):
        await runtime.form_links.open(other_data, sig)
    with pytest.raises(LinkError, match="changed"):
        await runtime.form_links.open(data, sig[:-2] + ("AA" if not sig.endswith("AA") else "BB"))
    with pytest.raises(LinkError, match="incomplete"):
        await runtime.form_links.open(data, None)


async def test_a_link_expires_after_24_hours(runtime: Runtime) -> None:
    made = utcnow()
    data, sig = _parts(runtime.form_links.create(BODY, None, now=made))
    await runtime.form_links.open(data, sig, now=made + timedelta(hours=23, minutes=59))
    with pytest.raises(LinkError, match="expired"):
        await runtime.form_links.open(data, sig, now=made + timedelta(hours=24))


async def test_a_link_works_once(runtime: Runtime) -> None:
    data, sig = _parts(runtime.form_links.create(BODY, None))
    link = await runtime.form_links.open(data, sig)
    await runtime.form_links.claim(link)
    with pytest.raises(LinkError, match="already been used"):
        await runtime.form_links.open(data, sig)
    with pytest.raises(LinkError, match="already been used"):
        await runtime.form_links.claim(link)


async def test_a_released_claim_lets_the_person_try_again(runtime: Runtime) -> None:
    data, sig = _parts(runtime.form_links.create(BODY, None))
    link = await runtime.form_links.open(data, sig)
    await runtime.form_links.claim(link)
    await runtime.form_links.release(link)
    assert (await runtime.form_links.open(data, sig)).nonce == link.nonce


async def test_a_link_runs_a_limited_number_of_login_checks(runtime: Runtime) -> None:
    data, sig = _parts(runtime.form_links.create(BODY, None))
    link = await runtime.form_links.open(data, sig)
    assert await runtime.form_links.checks_left(link) == MAX_CHECKS
    left = [await runtime.form_links.count_check(link) for _ in range(MAX_CHECKS)]
    assert left == list(range(MAX_CHECKS - 1, -1, -1))
    with pytest.raises(LinkError, match="too many failed sign-in attempts"):
        await runtime.form_links.count_check(link)
    with pytest.raises(LinkError, match="too many failed sign-in attempts"):
        await runtime.form_links.open(data, sig)
    other_data, other_sig = _parts(runtime.form_links.create(BODY, None))
    assert await runtime.form_links.checks_left(await runtime.form_links.open(other_data, other_sig)) == MAX_CHECKS


async def test_login_checks_are_counted_in_the_store_across_processes(runtime: Runtime) -> None:
    other = await Runtime.open(runtime.settings)  # its own connections, as another process would have
    try:
        data, sig = _parts(runtime.form_links.create(BODY, None))
        link = await runtime.form_links.open(data, sig)
        for number in range(MAX_CHECKS):
            await (runtime if number % 2 else other).form_links.count_check(link)
        with pytest.raises(LinkError):
            await other.form_links.open(data, sig)
        with pytest.raises(LinkError):
            await runtime.form_links.count_check(link)
    finally:
        await other.close()


async def test_links_from_another_secret_are_refused(runtime: Runtime) -> None:
    other = FormLinks(runtime.db, b"another key entirely, 32 bytes!!", runtime.settings.base_url)
    with pytest.raises(LinkError):
        await runtime.form_links.open(*_parts(other.create(BODY, None)))


@pytest.mark.parametrize(("change", "field"), [
    ({"redirectUrl": None}, "redirectUrl"),
    ({"redirectUrl": "javascript:alert(1)"}, "redirectUrl"),
    ({"redirectUrl": "/relative"}, "redirectUrl"),
    ({"email": "not an address"}, "email"),
    ({"account": "a/b"}, "account"),
    ({"account": ""}, "account"),
    ({"name": 5}, "name"),
    ({"colour": "red"}, "colour"),
])
def test_bad_requests_name_the_field(runtime: Runtime, change: dict, field: str) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    with pytest.raises(MailyardError) as caught:
        runtime.form_links.create(body, None)
    assert caught.value.errors[0].field == field


def test_redirect_keeps_the_query_and_adds_account_and_state() -> None:
    url = redirect_target("https://myapp.com/settings?tab=mail&state=x#top", "user 1", created=True)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "myapp.com", "/settings", "top")
    assert parse_qs(parts.query) == {"tab": ["mail"], "account": ["user 1"], "state": ["new"]}
    assert "state=existing" in redirect_target("https://myapp.com/", "a", created=False)
