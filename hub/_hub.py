"""The hub's services wired together once per process: database, catalog, ingest pipeline."""

from __future__ import annotations

from hub._catalog import Catalog
from hub._db import Database
from hub._ingest import IngestPipeline
from hub._settings import Settings


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings)
        self.catalog = Catalog(self.db)
        self.ingest = IngestPipeline(self.db, self.catalog)

    async def close(self) -> None:
        await self.db.dispose()
