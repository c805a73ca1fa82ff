"""A small bounded memory of recent results, shared by the query path's caches.

Queries repeat (a page of results, then the next page; the floor after the ranking), and the
web server answers from several threads, so the analyser and the engine each remember the
last few hundred results of a costly step. The oldest entry goes first; no timestamps, no LRU
bookkeeping: a miss only costs the step again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """At most `size` remembered values, oldest evicted first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The remembered value, or compute (outside the lock), remember and return it."""
        value = self._values.get(key)
        if value is None:
            value = compute()
            with self._lock:
                if len(self._values) >= self.size:
                    self._values.pop(next(iter(self._values)), None)
                self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
