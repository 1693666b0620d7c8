"""Who may act for which `user_id` on the hosting side.

Every hosting request names the `user_id` it acts for. A token bound to a tenant may only act for that
tenant (anything else is 403); a token without a tenant (an operator's, or an admin's) may act for any.
Rows belonging to another `user_id` are reported as not found, so tenants cannot probe each other.
"""

from __future__ import annotations

from mailyard.errors import forbidden, invalid
from mailyard.security.tokens import Principal

USER_ID_MAX = 255


def acting_user(principal: Principal | None, user_id: object) -> str:
    """The validated `user_id` the caller acts for."""
    if user_id is None or user_id == "":
        raise invalid("user_id", "is required")
    if not isinstance(user_id, str):
        raise invalid("user_id", "must be a string")
    if len(user_id) > USER_ID_MAX or any(ord(c) < 32 for c in user_id):
        raise invalid("user_id", f"must be at most {USER_ID_MAX} printable characters")
    if principal is not None and principal.tenant and principal.tenant != user_id:
        raise forbidden("This token may only act for its own user_id")
    return user_id
