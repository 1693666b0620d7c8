"""Token scopes and what each one grants."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    METRICS = "metrics"


# A scope grants itself plus what is listed here; admin grants everything.
_IMPLIES: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.WRITE: frozenset({Scope.WRITE, Scope.READ}),
    Scope.READ: frozenset({Scope.READ}),
    Scope.METRICS: frozenset({Scope.METRICS}),
}


def grants(held: frozenset[Scope] | set[Scope], wanted: Scope) -> bool:
    return any(wanted in _IMPLIES[scope] for scope in held)


def parse_scopes(values: list[str] | None) -> frozenset[Scope]:
    """Scopes from user input; raises ValueError naming an unknown one."""
    if not values:
        # Minting tokens and reading metrics are opt-in; a token without scopes may read and write data.
        return frozenset({Scope.READ, Scope.WRITE})
    parsed: set[Scope] = set()
    for value in values:
        try:
            parsed.add(Scope(value))
        except ValueError:
            raise ValueError(f"unknown scope {value!r}; use read, write, admin or metrics") from None
    return frozenset(parsed)
