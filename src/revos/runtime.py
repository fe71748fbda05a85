"""Everything a process needs, built once from settings: database, vault, secrets."""

from __future__ import annotations

from dataclasses import dataclass

from revos.config import Settings
from revos.db.embedded import resolve_database_url
from revos.db.pool import Database
from revos.db.urls import prepare_threshold
from revos.security.crypto import keyring_from_settings
from revos.security.vault import Vault


@dataclass
class Runtime:
    settings: Settings
    db: Database
    vault: Vault

    @property
    def jwt_secret(self) -> str:
        assert self.settings.jwt_secret is not None  # require_secrets() ran in build()
        return self.settings.jwt_secret.get_secret_value()

    @classmethod
    def build(cls, settings: Settings, *, name: str = "revos") -> Runtime:
        """The process's runtime; `name` is its connections' `application_name` (pg_stat_activity)."""
        settings.require_secrets()
        url = resolve_database_url(settings.database_url, settings.data_dir)
        db = Database(
            url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            prepare_threshold=prepare_threshold(settings, url),
            application_name=name,
        )
        return cls(settings=settings, db=db, vault=Vault(keyring_from_settings(settings)))

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()
