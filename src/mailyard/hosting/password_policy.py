"""What a hosted mailbox's password must look like, and generation of passwords that always qualify.

The default policy is Qboxmail's published rule: at least 8 characters with at least one letter and one number.
"""

from __future__ import annotations

import hmac
import secrets
import string
from dataclasses import dataclass

from mailyard.errors import FieldError, invalid_fields

# Look-alikes (0/O/o, 1/l/I) are left out so a password read aloud or off a screen is typed right the first time.
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_DIGITS = "23456789"
# Only symbols a shell and most config files take unquoted, so a generated password can be pasted anywhere: no
# quotes, backslash, `$`, space, `!` (history expansion), `#` (comments), globs, redirections or brackets.
_SYMBOLS = "%+-.=@_"
_ALPHABET = _UPPER + _LOWER + _DIGITS + _SYMBOLS
GENERATED_MIN_LENGTH = 16


def _has_control(password: str) -> bool:
    # IMAP and POP3 logins cannot carry NUL or line breaks reliably; other controls only cause support calls.
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in password)


def _is_symbol(c: str) -> bool:
    return not c.isalnum() and not c.isspace()


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must meet. `history_size` is how many previous passwords `block_old_password`
    compares against."""

    min_length: int = 8
    require_letter: bool = True
    require_digit: bool = True
    require_upper: bool = False
    require_lower: bool = False
    require_symbol: bool = False
    max_length: int = 128
    history_size: int = 5

    def __post_init__(self) -> None:
        if self.min_length < 1:
            raise ValueError("min_length must be at least 1")
        # generate() must be able to produce a strong password that the policy still accepts.
        if self.max_length < max(self.min_length, GENERATED_MIN_LENGTH):
            raise ValueError(f"max_length must be at least min_length and at least {GENERATED_MIN_LENGTH}")
        if self.history_size < 0:
            raise ValueError("history_size must not be negative")

    def problems(self, password: str) -> list[str]:
        """What is wrong with `password`, as phrases completing '"password" ...'; empty when it is acceptable."""
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"must be at least {self.min_length} characters long")
        if len(password) > self.max_length:
            found.append(f"must be at most {self.max_length} characters long")
        if self.require_letter and not any(c.isalpha() for c in password):
            found.append("must contain at least one letter")
        if self.require_digit and not any(c.isdigit() for c in password):
            found.append("must contain at least one number")
        if self.require_upper and not any(c.isupper() for c in password):
            found.append("must contain at least one upper-case letter")
        if self.require_lower and not any(c.islower() for c in password):
            found.append("must contain at least one lower-case letter")
        if self.require_symbol and not any(_is_symbol(c) for c in password):
            found.append("must contain at least one symbol")
        if _has_control(password):
            found.append("must not contain control characters or line breaks")
        return found

    def check(self, password: object, confirmation: object | None, *, field: str = "password",
              confirmation_required: bool = False) -> None:
        """Raise an InputValidationError unless `password` meets the policy and `confirmation` (if given or
        required) matches it. The confirmation's field is `<field>_confirmation`."""
        errors: list[FieldError] = []
        if not isinstance(password, str):
            errors.append(FieldError(field, "is required" if password is None else "must be a string"))
        elif found := self.problems(password):
            errors.append(FieldError(field, "; ".join(found)))

        confirmation_field = f"{field}_confirmation"
        if confirmation is None:
            if confirmation_required:
                errors.append(FieldError(confirmation_field, "is required"))
        elif not isinstance(confirmation, str):
            errors.append(FieldError(confirmation_field, "must be a string"))
        elif isinstance(password, str) and not hmac.compare_digest(
            password.encode("utf-8", "surrogatepass"), confirmation.encode("utf-8", "surrogatepass")
        ):
            errors.append(FieldError(confirmation_field, f"must match {field}"))

        if errors:
            raise invalid_fields(errors, code="InputValidationError")

    def generate(self) -> str:
        """A random password (at least 16 characters, about 6 bits each) with upper- and lower-case letters, a
        digit and a symbol, starting with a letter, that this policy accepts."""
        length = max(GENERATED_MIN_LENGTH, self.min_length)
        # Drawing whole candidates until one qualifies keeps every qualifying password equally likely; at 16
        # characters more than half of the candidates qualify, so this loop is short.
        while True:
            candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
            if (
                candidate[0].isalpha()  # a leading "-" would read as a command-line option
                and any(c in _UPPER for c in candidate)
                and any(c in _LOWER for c in candidate)
                and any(c in _DIGITS for c in candidate)
                and any(c in _SYMBOLS for c in candidate)
                and not self.problems(candidate)
            ):
                return candidate
