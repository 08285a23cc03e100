"""Findings of the spec checks: ``(location, message)`` pairs, and one per place."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

L = TypeVar("L", bound=Hashable)

__all__ = ["first_per_place"]


def first_per_place(findings: Iterable[tuple[L, str]]) -> list[tuple[L, str]]:
    """The first finding at each location (a series' sessions share their spec entry: one problem, one message)."""
    seen: set[L] = set()
    out: list[tuple[L, str]] = []
    for where, message in findings:
        if where not in seen:
            seen.add(where)
            out.append((where, message))
    return out
