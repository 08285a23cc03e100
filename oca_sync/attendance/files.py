"""CSV files of the attendance commands: rosters, participant exports, match results, review lists.

Every read error names the file, the line and the field; nothing is written
when an input is bad.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .. import csvout
from ..errors import UsageError
from .match import Outcome, RosterUser
from .participants import Presence, ZoomRow, parse_time

ROSTER_COLUMNS = ("userid", "username", "firstname", "lastname", "email")
PARTICIPANT_COLUMNS = ("meeting_uuid", "name", "user_email", "join_time", "leave_time")
OUTPUT_COLUMNS = ("meeting_uuid", "name", "user_email", "status", "userid", "candidates", "minutes", "reason")


def _rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"{path}:1: missing column(s) {', '.join(missing)} (has: {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def read_roster(path: Path) -> list[RosterUser]:
    """``userid,username,firstname,lastname,email[,group]``; ``group`` may list several, ``;``-separated."""
    users: list[RosterUser] = []
    seen: dict[int, int] = {}
    for line, r in _rows(path, ROSTER_COLUMNS):
        try:
            uid = int(r["userid"])
        except ValueError:
            raise UsageError(f"{path}:{line}: userid: {r['userid']!r} is not a number") from None
        if uid <= 0:
            raise UsageError(f"{path}:{line}: userid: must be positive")
        if uid in seen:
            raise UsageError(f"{path}:{line}: userid: {uid} already on line {seen[uid]}")
        seen[uid] = line
        if not (r["firstname"] or r["lastname"]):
            raise UsageError(f"{path}:{line}: firstname: a user needs a first or last name")
        groups = tuple(g.strip() for g in r.get("group", "").split(";") if g.strip())
        users.append(RosterUser(uid, r["username"], r["firstname"], r["lastname"], r["email"], groups))
    return users


def read_participants(path: Path) -> list[ZoomRow]:
    """Zoom's participant-report fields; other columns are ignored; times ISO 8601 (UTC when no offset)."""
    rows: list[ZoomRow] = []
    for line, r in _rows(path, PARTICIPANT_COLUMNS):
        times = []
        for f in ("join_time", "leave_time"):
            try:
                times.append(parse_time(r[f]))
            except ValueError:
                raise UsageError(f"{path}:{line}: {f}: {r[f]!r} is not an ISO 8601 time") from None
        if times[1] < times[0]:
            raise UsageError(f"{path}:{line}: leave_time: before join_time")
        rows.append(ZoomRow(r["meeting_uuid"], r["name"], r["user_email"], times[0], times[1],
                            r.get("status") or "in_meeting"))
    return rows


def read_resolutions(path: Path, usernames: dict[str, int]) -> dict[tuple[str, str], int]:
    """A filled-in review file: ``name,user_email,resolve`` (a username, a user id, or ``none``).

    Rows with an empty ``resolve`` are skipped (still to decide). Returns
    ``(name, email) -> user id`` (0 for ``none``).
    """
    out: dict[tuple[str, str], int] = {}
    for line, r in _rows(path, ("name", "user_email", "resolve")):
        value = r["resolve"]
        if not value:
            continue
        if value.lower() in ("none", "-", "0"):
            uid = 0
        elif value in usernames:
            uid = usernames[value]
        elif value.isdigit() and int(value) in usernames.values():
            uid = int(value)
        else:
            raise UsageError(f"{path}:{line}: resolve: {value!r} is not a username or id of the course "
                             "(or 'none' for someone who is not a course user)")
        out[(unescape_cell(r["name"]), unescape_cell(r["user_email"]))] = uid
    return out


def escape_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection; :mod:`oca_sync.csvout`)."""
    return str(csvout.neutralise("" if value is None else str(value)))


def unescape_cell(text: str) -> str:
    """The value :func:`escape_cell` wrote (a review file comes back with the names as they were)."""
    return csvout.restore(text)


def write_csv(path: Path | None, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Write rows (escaped) to ``path``; returns the text too (for stdout when ``path`` is None)."""
    buf = io.StringIO()
    w = csvout.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([escape_cell(v) for v in row])
    if path is not None:
        try:
            path.write_text(buf.getvalue(), encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    return buf.getvalue()


def outcome_rows(presences: Iterable[Presence], outcomes: dict[tuple[str, str], Outcome]) -> list[list[object]]:
    """OUT.csv rows: one per distinct ``(meeting_uuid, name, user_email)``."""
    out: list[list[object]] = []
    for p in presences:
        o = outcomes[p.identity]
        out.append([p.meeting_uuid, p.name, p.email, o.status.value, o.userid or "",
                    ";".join(str(c) for c in o.candidates), f"{p.minutes:.1f}", o.reason])
    return out
