"""What each token scope grants."""

import pytest

from mailyard.security.scopes import Scope, grants, parse_scopes


def test_admin_grants_everything() -> None:
    assert all(grants({Scope.ADMIN}, s) for s in Scope)


def test_write_grants_read_but_not_admin_or_metrics() -> None:
    assert grants({Scope.WRITE}, Scope.READ)
    assert not grants({Scope.WRITE}, Scope.ADMIN)
    assert not grants({Scope.WRITE}, Scope.METRICS)


def test_read_does_not_grant_write() -> None:
    assert not grants({Scope.READ}, Scope.WRITE)


def test_default_scopes_are_read_and_write() -> None:
    assert parse_scopes(None) == {Scope.READ, Scope.WRITE}


def test_unknown_scope_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'owner'"):
        parse_scopes(["owner"])
