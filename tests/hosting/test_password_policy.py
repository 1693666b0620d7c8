"""The mailbox password policy: Qboxmail's rule by default, stricter rules on request, and generated passwords."""

from __future__ import annotations

import pytest

from mailyard.errors import ErrorKind, MailyardError
from mailyard.hosting.password_policy import PasswordPolicy

STRICT = PasswordPolicy(min_length=12, require_upper=True, require_lower=True, require_symbol=True)


def errors_of(policy: PasswordPolicy, password: object, confirmation: object | None = None,
              **options: object) -> dict[str, str]:
    with pytest.raises(MailyardError) as caught:
        policy.check(password, confirmation, **options)  # type: ignore[arg-type]
    assert caught.value.kind is ErrorKind.VALIDATION
    assert caught.value.code == "InputValidationError"
    return {error.field: error.message for error in caught.value.errors}


@pytest.mark.parametrize("password", ["abcdefg1", "1234567a", "pässwört9", "long enough 1"])
def test_seed_rule_accepts_eight_characters_with_a_letter_and_a_number(password: str) -> None:
    assert PasswordPolicy().problems(password) == []
    PasswordPolicy().check(password, password)


@pytest.mark.parametrize(("password", "problem"), [
    ("abcde1", "must be at least 8 characters long"),
    ("abcdefgh", "must contain at least one number"),
    ("12345678", "must contain at least one letter"),
])
def test_seed_rule_rejects_short_or_letterless_or_digitless_passwords(password: str, problem: str) -> None:
    assert PasswordPolicy().problems(password) == [problem]
    assert errors_of(PasswordPolicy(), password) == {"password": problem}


def test_every_problem_is_named_in_one_message() -> None:
    assert errors_of(PasswordPolicy(), "abc") == {
        "password": "must be at least 8 characters long; must contain at least one number",
    }


def test_too_long_and_control_characters_are_rejected() -> None:
    policy = PasswordPolicy()
    assert policy.problems("a1" * 64) == []
    assert policy.problems("a1" * 64 + "x") == ["must be at most 128 characters long"]
    assert policy.problems("abcdefg1\n") == ["must not contain control characters or line breaks"]


def test_stronger_rules_can_be_configured() -> None:
    assert STRICT.problems("abcdefghijk1") == [
        "must contain at least one upper-case letter", "must contain at least one symbol",
    ]
    assert STRICT.problems("ABCDEFGHIJK1!") == ["must contain at least one lower-case letter"]
    assert STRICT.problems("Abcdefghij1!") == []
    assert STRICT.problems("Abcdefghi1!") == ["must be at least 12 characters long"]


def test_digit_rule_can_be_turned_off() -> None:
    assert PasswordPolicy(require_digit=False).problems("abcdefgh") == []


def test_confirmation_mismatch_is_reported_on_the_confirmation_field() -> None:
    assert errors_of(PasswordPolicy(), "abcdefg1", "abcdefg2") == {"password_confirmation": "must match password"}


def test_missing_confirmation_is_fine_unless_required() -> None:
    PasswordPolicy().check("abcdefg1", None)
    assert errors_of(PasswordPolicy(), "abcdefg1", None, confirmation_required=True) == {
        "password_confirmation": "is required",
    }


def test_errors_on_both_fields_are_reported_together() -> None:
    assert errors_of(PasswordPolicy(), "short", 12345) == {
        "password": "must be at least 8 characters long; must contain at least one number",
        "password_confirmation": "must be a string",
    }


@pytest.mark.parametrize("password", [12345678, None, ["abcdefg1"], b"abcdefg1"])
def test_non_string_password_is_rejected(password: object) -> None:
    errors = errors_of(PasswordPolicy(), password)
    assert set(errors) == {"password"}
    assert errors["password"] in ("must be a string", "is required")


def test_field_name_can_be_chosen() -> None:
    assert errors_of(PasswordPolicy(), "abcdefg1", "other", field="new_password") == {
        "new_password_confirmation": "must match new_password",
    }


def test_policy_that_cannot_be_met_is_refused() -> None:
    with pytest.raises(ValueError):
        PasswordPolicy(min_length=20, max_length=10)
    with pytest.raises(ValueError):
        PasswordPolicy(min_length=0)
    with pytest.raises(ValueError):
        PasswordPolicy(history_size=-1)


@pytest.mark.parametrize("policy", [
    PasswordPolicy(), STRICT, PasswordPolicy(min_length=40, require_symbol=True, require_upper=True),
])
def test_generated_passwords_always_pass_the_policy(policy: PasswordPolicy) -> None:
    seen = set()
    for _ in range(200):
        password = policy.generate()
        assert policy.problems(password) == []
        policy.check(password, password)
        assert len(password) >= max(16, policy.min_length)
        seen.add(password)
    assert len(seen) == 200


def test_generated_passwords_avoid_look_alikes_and_characters_needing_shell_quotes() -> None:
    text = "".join(STRICT.generate() for _ in range(200))
    assert not set(text) & set("0O1lI'\"`\\$ !#&;|<>()[]{}*?~")
    assert any(c.isupper() for c in text) and any(c.isdigit() for c in text)
