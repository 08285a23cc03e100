"""Saved plans: ``plan --out FILE`` then ``apply FILE`` applies exactly what was reviewed.

A plan's payloads (ids, records) cannot be trusted after time has passed, so a
saved plan is not replayed. It records what the reviewer saw (the plan's JSON),
a digest of the spec and of every file it names, and a fingerprint of the
changes. ``apply FILE`` loads the spec again, checks the digest, plans again
against the live systems and refuses unless the new changes have the same
fingerprint: if the site or the spec moved since the review, nothing is written
(as Terraform refuses a stale saved plan).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import OcaError, UsageError
from .plan import Plan, change_json
from .spec import LoadedSpec
from .spec.models import FileContent

__all__ = ["SavedPlan", "StalePlan", "fingerprint", "is_saved_plan", "load", "save", "spec_digest"]

MARKER = "oca_sync_saved_plan"
VERSION = 1


class StalePlan(OcaError):
    """The site or the spec changed since the plan was saved."""


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    spec: Path
    spec_digest: str
    fingerprint: str
    prune: bool
    created: str
    plan: dict[str, Any]


def fingerprint(plan: Plan) -> str:
    """What the plan would do, as a digest: its changes with their fields (order kept: it is apply's order)."""
    changes = [change_json(c) for c in plan.changes]
    return hashlib.sha256(json.dumps(changes, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def spec_digest(loaded: LoadedSpec) -> str:
    """A digest of the spec file and of every file it names (materials, rosters)."""
    h = hashlib.sha256(loaded.path.read_bytes())
    names = sorted({c.path for ss in loaded.sessions.values() for s in ss for c in s.content
                    if isinstance(c, FileContent)} | {o.roster for o in loaded.spec.organisations if o.roster})
    for name in names:
        h.update(b"\0" + name.encode())
        with loaded.file(name).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def save(path: Path, loaded: LoadedSpec, plan: Plan, *, prune: bool) -> None:
    doc = {
        MARKER: VERSION,
        "spec": str(loaded.path.resolve()),
        "spec_digest": spec_digest(loaded),
        "fingerprint": fingerprint(plan),
        "prune": prune,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "plan": plan.to_json(),
    }
    # Owner-only: a plan names people and addresses.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


def is_saved_plan(path: Path) -> bool:
    """True when ``path`` looks like a saved plan (JSON with our marker), not a spec."""
    try:
        with path.open("rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and MARKER.encode() in head


def load(path: Path) -> SavedPlan:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get(MARKER) != VERSION:
            raise UsageError(f"{path}: a saved plan of another oca-sync version; run `oca-sync plan --out` again")
        return SavedPlan(path, Path(doc["spec"]), doc["spec_digest"], doc["fingerprint"], bool(doc["prune"]),
                         doc["created"], doc["plan"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"{path}: not a saved plan (made by `oca-sync plan --out FILE`)") from None


def check_spec(saved: SavedPlan, loaded: LoadedSpec) -> None:
    if spec_digest(loaded) != saved.spec_digest:
        raise StalePlan(f"the spec {saved.spec} or a file it names changed since the plan was saved "
                        f"({saved.created}); nothing was written. Run `oca-sync plan --out` again and review it")


def check_plan(saved: SavedPlan, plan: Plan) -> None:
    if fingerprint(plan) != saved.fingerprint:
        raise StalePlan(f"the site changed since the plan was saved ({saved.created}): applying now would do "
                        "something else than what was reviewed; nothing was written. "
                        "Run `oca-sync plan --out` again and review it")
