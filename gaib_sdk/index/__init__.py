"""The protocol's history: an event indexer into SQLite or PostgreSQL (:class:`Indexer`), live
subscriptions (``gaib.watch()``, :mod:`gaib_sdk.index.watch`), NAV history from the index
(:mod:`gaib_sdk.index.history`) and LP points (:mod:`gaib_sdk.index.points`). See docs/indexer.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gaib_sdk._lazy import lazy_exports

if TYPE_CHECKING:
    from gaib_sdk.index.db import Database, open_database
    from gaib_sdk.index.events import Decoder, Event, Source, protocol_sources
    from gaib_sdk.index.indexer import Index, Indexer, Snapshot, SyncStats, protocol_snapshot

# Imported on first use: `gaib --version` loads this package for its parser only.
_EXPORTS = {
    "Database": "gaib_sdk.index.db",
    "Decoder": "gaib_sdk.index.events",
    "Event": "gaib_sdk.index.events",
    "Index": "gaib_sdk.index.indexer",
    "Indexer": "gaib_sdk.index.indexer",
    "Snapshot": "gaib_sdk.index.indexer",
    "Source": "gaib_sdk.index.events",
    "SyncStats": "gaib_sdk.index.indexer",
    "open_database": "gaib_sdk.index.db",
    "protocol_snapshot": "gaib_sdk.index.indexer",
    "protocol_sources": "gaib_sdk.index.events",
}

__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "Database",
    "Decoder",
    "Event",
    "Index",
    "Indexer",
    "Snapshot",
    "Source",
    "SyncStats",
    "open_database",
    "protocol_snapshot",
    "protocol_sources",
]
