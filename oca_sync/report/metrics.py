"""Campaign metrics files: ``date,organisation,platform,metric,value``, one number per row.

Every row is checked; a bad row is an error naming the file, line and column, and
the whole file is refused (nothing is silently dropped). Pure apart from reading
the files named in the spec.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

from ..errors import SpecError, SpecIssue
from ..spec import LoadedSpec
from ..spec.models import METRICS
from .dataset import Metric

HEADER = ("date", "organisation", "platform", "metric", "value")
#: a platform every campaign may report (meetings, petitions, events)
OFFLINE = "offline"


def read_metrics(loaded: LoadedSpec) -> list[Metric]:
    """All rows of the spec's metrics files, or SpecError listing every bad row."""
    rows: list[Metric] = []
    issues: list[SpecIssue] = []
    for name in loaded.spec.report.campaign_metrics:
        found, bad = parse_metrics(loaded.file(name), loaded, shown=name)
        rows += found
        issues += bad
    if issues:
        raise SpecError(issues)
    return rows


def parse_metrics(path: Path, loaded: LoadedSpec, shown: str | None = None) -> tuple[list[Metric], list[SpecIssue]]:
    """Rows of one file (``shown``: its name as the spec writes it, for messages)."""
    campaigns = {o.key: o.campaign for o in loaded.spec.organisations}
    shown = shown or str(path)
    issues: list[SpecIssue] = []

    def bad(line: int, column: str, message: str) -> None:
        issues.append(SpecIssue(shown, line, None, column, message))

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [SpecIssue(shown, None, None, "", f"cannot read the metrics file: {e}")]
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != HEADER:
        return [], [SpecIssue(shown, 1, None, "", f"the first line must be {','.join(HEADER)}")]
    rows: list[Metric] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line holds no number
        if len(cells) != len(HEADER):
            bad(line, "", f"expected {len(HEADER)} columns ({','.join(HEADER)}), found {len(cells)}")
            continue
        date, org, platform, metric, value = (c.strip() for c in cells)
        errors_before = len(issues)
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            bad(line, "date", f"{date!r} is not a date (YYYY-MM-DD)")
        campaign = campaigns.get(org, None)
        if org not in campaigns:
            bad(line, "organisation", f"unknown organisation {org!r}")
        elif campaign is None:
            bad(line, "organisation", f"organisation {org!r} has no campaign in the spec")
        else:
            allowed = [p.platform for p in campaign.platforms] + [OFFLINE]
            if platform.lower() not in allowed:
                bad(line, "platform", f"platform {platform!r} is not one of {org}'s: {', '.join(allowed)}")
        if metric not in METRICS:
            bad(line, "metric", f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
        try:
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise ValueError
        except ValueError:
            bad(line, "value", f"{value!r} is not a number ≥ 0")
            number = 0.0
        if len(issues) > errors_before:
            continue
        key = (date, org, platform.lower(), metric)
        if key in seen:
            bad(line, "", f"{metric} of {org} on {platform} for {date} is already given on line {seen[key]}")
            continue
        seen[key] = line
        rows.append(Metric(date=date, organisation=org, platform=platform.lower(), metric=metric, value=number,
                           source=f"{path.name}:{line}"))
    return rows, issues
