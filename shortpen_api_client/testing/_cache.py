"""A small thread-safe LRU bounded by the total size of its values (bytes, roughly)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SizedLRU(Generic[V]):
    """Least recently used entries are dropped once the sizes add up to more than ``budget``.

    A value larger than ``budget`` is never kept. Computing a value happens outside the lock, so two
    threads may compute the same (deterministic) value at once; the second store wins, harmlessly.
    """

    def __init__(self, *, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        if size > self._budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= old[1]
            self._items[key] = (value, size)
            self._used += size
            while self._used > self._budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self._used -= dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
