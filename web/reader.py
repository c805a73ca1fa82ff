"""One long-lived read connection to the catalogue for the whole app.

Opening and closing a connection per request would make SQLite checkpoint and delete the
WAL file each time the last connection closes; `LiveEngine` watches that file to notice new
data, so the churn would rebuild the engine (and drop the query cache) on every page view.
A single connection, kept open and used under a lock, leaves the WAL alone; reads are short.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from viko.corpus.catalogue import Catalogue
from viko.runtime import open_catalogue
from viko.settings import Settings


class CatalogueReader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._cat: Catalogue | None = None

    @contextmanager
    def read(self) -> Iterator[Catalogue]:
        with self._lock:
            if self._cat is None:
                self._cat = open_catalogue(self.settings, readonly=True)
            yield self._cat

    def close(self) -> None:
        with self._lock:
            if self._cat is not None:
                self._cat.close()
                self._cat = None
