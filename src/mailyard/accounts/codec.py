"""Between client settings and storage: secrets go to one encrypted JSON blob, the rest stays readable.

A "section" is the imap, smtp or oauth2 object. In memory it is whole (secrets included); stored, its
public part sits in its own column and its secrets in `credentials`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from mailyard.security.secretbox import SecretBox

SECTIONS = ("imap", "smtp", "oauth2")
_AUTH_SECRETS = ("pass", "accessToken")
_OAUTH2_SECRETS = ("accessToken", "refreshToken")

Section = dict[str, Any]


def split(name: str, full: Section | None) -> tuple[Section | None, dict[str, str]]:
    """(public part, secrets) of one section."""
    if full is None:
        return None, {}
    public = json.loads(json.dumps(full))  # deep copy of plain JSON data
    secrets: dict[str, str] = {}
    if name == "oauth2":
        for key in _OAUTH2_SECRETS:
            if key in public:
                secrets[key] = public.pop(key)
    elif isinstance(public.get("auth"), dict):
        for key in _AUTH_SECRETS:
            if key in public["auth"]:
                secrets[key] = public["auth"].pop(key)
    return public, secrets


def join(name: str, public: Section | None, secrets: dict[str, str]) -> Section | None:
    if public is None:
        return None
    full = json.loads(json.dumps(public))
    if name == "oauth2":
        full.update(secrets)
    elif secrets and isinstance(full.get("auth"), dict):
        full["auth"].update(secrets)
    return full


def seal(box: SecretBox, sections: dict[str, Section | None]) -> tuple[dict[str, Section | None], str | None]:
    """Public sections and the encrypted credentials blob (None when there is no secret at all)."""
    public: dict[str, Section | None] = {}
    secrets: dict[str, dict[str, str]] = {}
    for name in SECTIONS:
        public[name], found = split(name, sections.get(name))
        if found:
            secrets[name] = found
    return public, (box.encrypt(json.dumps(secrets)) if secrets else None)


def unseal(box: SecretBox, public: dict[str, Section | None], credentials: str | None) -> dict[str, Section | None]:
    secrets: dict[str, dict[str, str]] = json.loads(box.decrypt(credentials)) if credentials else {}
    return {name: join(name, public.get(name), secrets.get(name, {})) for name in SECTIONS}


def incoming(model: BaseModel) -> Section:
    """A section as the client sent it: only the fields present, in their JSON form."""
    return model.model_dump(by_alias=True, exclude_unset=True, mode="json")


def merge(stored: Section | None, sent: BaseModel | None) -> Section | None:
    """The documented update rule: replace the section, unless it says `"partial": true`, in which case
    its top-level fields are merged (a nested object such as `auth` is replaced whole; null removes)."""
    if sent is None:
        return None
    changes = incoming(sent)
    partial = bool(changes.pop("partial", False))
    if not partial or stored is None:
        return {k: v for k, v in changes.items() if v is not None}
    result = dict(stored)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
