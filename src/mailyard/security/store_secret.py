"""Ties the store to one secret: a check value proves the configured secret is the one the data uses.

`rotate` re-encrypts every column marked encrypted (see `mailyard.store.base.encrypted_column`).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.security.secretbox import SecretBox, SecretBoxError
from mailyard.store.base import Base
from mailyard.store.db import Database
from mailyard.store.models import Meta
from mailyard.store.registry import load_models

CHECK_KEY = "secretbox.check"
_CHECK_PLAINTEXT = "mailyard-secret-check"


class SecretMismatch(RuntimeError):
    """The configured secret is not the one the stored data was encrypted with."""


_MISMATCH_HELP = (
    "The store was encrypted with a different secret than the one configured now. "
    "Set MAILYARD_SECRET to the secret used before, or restore the secret file "
    "({where}); Mailyard will not start with the wrong key."
)


async def verify_secret(db: Database, box: SecretBox, where: str) -> None:
    """Raise SecretMismatch unless `box` opens the store's check value (writing it on a fresh store)."""
    async with db.transaction() as session:
        row = await session.get(Meta, CHECK_KEY)
        if row is None:
            session.add(Meta(key=CHECK_KEY, value=box.encrypt(_CHECK_PLAINTEXT)))
            return
        try:
            ok = box.decrypt(row.value) == _CHECK_PLAINTEXT
        except SecretBoxError:
            ok = False
        if not ok:
            raise SecretMismatch(_MISMATCH_HELP.format(where=where))


def encrypted_columns() -> list[tuple[type, str]]:
    """Every (model, attribute) whose column holds a SecretBox value."""
    load_models()
    found: list[tuple[type, str]] = []
    for mapper in Base.registry.mappers:
        for attr in mapper.column_attrs:
            if any(col.info.get("encrypted") for col in attr.columns):
                found.append((mapper.class_, attr.key))
    return found


async def _reseal_column(session: AsyncSession, model: type, attr: str, old: SecretBox, new: SecretBox) -> int:
    pk = model.__mapper__.primary_key  # type: ignore[attr-defined]
    column = getattr(model, attr)
    rows = (await session.execute(select(*pk, column).where(column.is_not(None)))).all()
    for row in rows:
        *keys, value = row
        condition = [c == k for c, k in zip(pk, keys, strict=True)]
        await session.execute(update(model).where(*condition).values({attr: new.encrypt(old.decrypt(value))}))
    return len(rows)


async def rotate(db: Database, old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt every stored secret from `old` to `new` in one transaction; returns how many."""
    await verify_secret(db, old, "the current secret")
    count = 0
    async with db.transaction() as session:
        for model, attr in encrypted_columns():
            if model is Meta:
                continue
            count += await _reseal_column(session, model, attr, old, new)
        check = await session.get(Meta, CHECK_KEY)
        assert check is not None
        check.value = new.encrypt(_CHECK_PLAINTEXT)
    return count
