"""Counts of the calls a remote client made, shared by the Moodle, Zoom and Drive clients."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CallStats"]


@dataclass
class CallStats:
    """Counts of calls made, for progress, tests and benchmarks. Safe to count from several threads:
    apply sends independent batches side by side and the archive moves small files in a pool."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    def _add(self, name: str, n: int) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    @property
    def total(self) -> int:
        return sum(self.calls.values())
