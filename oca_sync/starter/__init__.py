"""``oca-sync init``: a short, commented starting spec that validates and applies as it is.

So that a new programme need not start from the long OCA example: one course,
two sessions next week, one organisation with a roster, one trainer, a
material file, and the JSON Schema beside it for editors. Dates are chosen
from today so that nothing starts in the past.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import UsageError
from ..spec.schema import render as render_schema

__all__ = ["STARTER_FILES", "Started", "write_starter"]

#: What ``init`` writes, relative to the target folder.
STARTER_FILES = ("programme.yaml", "rosters/first-org.csv", "materials/welcome.md", "schema.json")


@dataclass(frozen=True)
class Started:
    spec: Path
    files: tuple[Path, ...]


def write_starter(folder: Path, *, key: str = "myprog", timezone: str = "Asia/Bishkek",
                  today: dt.date | None = None) -> Started:
    """Write the starter files into ``folder`` (created if needed); refuse to overwrite anything."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,39}", key):
        raise UsageError(f"--key {key!r}: use lowercase letters, digits, '.', '_' or '-' (at most 40)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone {timezone!r} is not an IANA time zone (e.g. Asia/Bishkek, Europe/Berlin)") from None
    targets = [folder / name for name in STARTER_FILES]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise UsageError(f"not overwriting {', '.join(existing)}: choose an empty folder")
    today = today or dt.date.today()
    monday = today + dt.timedelta(days=7 - today.weekday())  # next week's Monday
    values = {
        "key": key,
        "timezone": timezone,
        "shortname": key.upper().replace(".", "-").replace("_", "-")[:40] + "-1",
        "course_start": monday.isoformat(),
        "course_end": (monday + dt.timedelta(weeks=8)).isoformat(),
        "first_start": f"{monday.isoformat()} 15:00",
        "second_start": f"{(monday + dt.timedelta(days=2)).isoformat()} 15:00",
    }
    here = resources.files(__package__)
    texts = {}  # everything read before anything is written: no half-made folder
    for name in STARTER_FILES:
        if name == "schema.json":  # made from the installed models, so it always matches them
            texts[name] = render_schema()
        else:
            text = here.joinpath(name).read_text(encoding="utf-8")
            # safe_substitute: "$schema" in the editor hint is not ours to fill.
            texts[name] = Template(text).safe_substitute(values) if name.endswith(".yaml") else text
    try:
        for name, target in zip(STARTER_FILES, targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(texts[name], encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write into {folder}: {e.strerror}") from None
    return Started(spec=targets[0], files=tuple(targets))
