"""The protocol's history: an event indexer into SQLite or PostgreSQL (:class:`Indexer`), live
subscriptions (:func:`watch`), NAV history from the index (:mod:`gaib_sdk.index.history`) and LP points
(:mod:`gaib_sdk.index.points`). See docs/indexer.md."""

from gaib_sdk.index.db import Database, open_database
from gaib_sdk.index.events import Decoder, Event, Source, protocol_sources
from gaib_sdk.index.indexer import Index, Indexer, Snapshot, SyncStats, protocol_snapshot

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
