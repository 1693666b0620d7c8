"""The Runtime: everything one Mailyard process holds open (store, secret box, services)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailyard.config import Settings
from mailyard.observability.metrics import Metrics
from mailyard.security.secret_source import SecretSource, load_secret
from mailyard.security.secretbox import SecretBox
from mailyard.security.store_secret import SecretMismatch, verify_secret
from mailyard.security.tokens import TokenService
from mailyard.store.db import Database
from mailyard.store.migrate import migrate


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    secret_source: SecretSource
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.tokens = TokenService(self.db)

    @classmethod
    async def open(cls, settings: Settings) -> Runtime:
        """Migrate the store and prove the secret opens it; raises SecretMismatch with a clear message."""
        db = Database(settings.effective_database_url)
        try:
            await migrate(db)
            source = load_secret(settings)
            box = SecretBox(source.value)
            where = "MAILYARD_SECRET" if source.origin == "env" else str(source.path)
            try:
                await verify_secret(db, box, where)
            except SecretMismatch:
                if source.generated and source.path is not None:
                    source.path.unlink()  # a fresh secret that cannot open the data must not linger
                raise
        except BaseException:
            await db.dispose()
            raise
        return cls(settings, db, box, source)

    async def close(self) -> None:
        await self.db.dispose()
