"""`oca-sync attendance sync` and `review` as a user runs them, against the sandboxes."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from oca_sync import sync
from oca_sync.attendance.sandbox_people import session_people
from oca_sync.cli import cli
from oca_sync.demo import sandboxes
from oca_sync.spec import LoadedSpec
from oca_sync.state import StateStore
from oca_sync.zoom.meetings import desired_meetings, observe_meetings

from .conftest import OCA_SPEC


def test_review_resolve_then_sync_then_nothing_left(oca: LoadedSpec, tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/state.sqlite"
    with sandboxes(oca) as sb:
        client, zoom = sb.moodle_client(), sb.zoom_client()
        sync.apply(client, oca, sb.site(), StateStore(state), zoom=zoom)
        s = next(s for s in oca.sessions["OCA-KG-2022"] if s.key == "training-01")
        found = observe_meetings(zoom, desired_meetings(oca))
        mid = next(m.id for k, ms in found.items() if k.endswith(":training-01") for m in ms)
        people = session_people(oca, s.number, s.duration)
        people.append({"name": "Apa", "email": "", "segments": [(0, s.duration)]})  # someone's nickname
        sb.zoom.set_participants(mid, people)
        sb.zoom.set_time((s.end + dt.timedelta(hours=1)).astimezone(dt.timezone.utc))
        env = sb.env()
        run = CliRunner().invoke

        def cmd(*args: str) -> tuple[int, str]:
            r = run(cli, ["--state", state, "--no-color", "attendance", *args], env=env, catch_exceptions=False)
            return r.exit_code, r.output

        code, out = cmd("sync", "--session", "training-01", "--detailed-exitcode", str(OCA_SPEC))
        assert code == 3, out
        assert "OCA-KG-2022:training-01" in out and "1 participant(s) to review" in out

        review = tmp_path / "review.csv"
        code, out = cmd("review", str(OCA_SPEC), "--session", "training-01", "--output", str(review))
        assert code == 0, out
        rows = list(csv.DictReader(review.open(encoding="utf-8")))
        assert [(r["name"], r["status"], r["resolve"]) for r in rows] == [("Apa", "none", "")]
        username = "zarina.yusupova"  # a member who is absent under her own name: "Apa" is her nickname
        rows[0]["resolve"] = username
        with review.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

        code, out = cmd("sync", "--session", "training-01", "--resolve", str(review), "--yes", str(OCA_SPEC))
        assert code == 0, out
        assert "Attendance written: 23 status(es)" in out

        code, out = cmd("sync", "--session", "training-01", "--json", str(OCA_SPEC))
        doc = json.loads(out)
        assert code == 0 and doc["changes"] == [] and doc["sessions"][0]["to_write"] == 0
        assert doc["sessions"][0]["review"] == 0 and doc["review"] == []
        code, out = cmd("review", str(OCA_SPEC), "--session", "training-01")
        assert code == 0 and "Nothing to review." in out
        code, out = cmd("sync", "--session", "training-01", "--detailed-exitcode", str(OCA_SPEC))
        assert code == 0, out

        records = StateStore(state).attendance_records(f"attendance:{sb.moodle.url}:{oca.spec.programme.key}")
        apa = next(r for r in records if r["username"] == username)
        assert apa["written"] == "P" and apa["minutes"] > 80
