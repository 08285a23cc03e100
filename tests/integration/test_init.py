"""`oca-sync init`: the starting spec validates and applies to the sandbox as it is, twice without a write."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from oca_sync import sync
from oca_sync.cli import cli
from oca_sync.spec import load_spec
from oca_sync.starter import STARTER_FILES, write_starter


def test_init_writes_a_spec_that_applies_twice_without_a_write(tmp_path, moodle_plugin, client_plugin, site, store):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "prog"), "--key", "cohort1", "--timezone", "Asia/Almaty"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "prog").as_posix() for p in (tmp_path / "prog").rglob("*") if p.is_file()) \
        == sorted(STARTER_FILES)
    loaded = load_spec(tmp_path / "prog" / "programme.yaml")
    assert loaded.spec.programme.key == "cohort1" and loaded.spec.programme.timezone == "Asia/Almaty"
    sessions = loaded.sessions["COHORT1-1"]
    assert len(sessions) == 2 and all(s.start.date() > dt.date.today() for s in sessions)
    assert [m.key for m in loaded.members["first-org"]] == ["ann.example", "bakyt.example"]
    assert sync.apply(client_plugin, loaded, site, store).applied
    writes = moodle_plugin.calls.write_count()
    assert sync.apply(client_plugin, loaded, site, store).plan.empty
    assert moodle_plugin.calls.write_count() == writes
    schema = json.loads((tmp_path / "prog" / "schema.json").read_text(encoding="utf-8"))
    assert schema["title"] == "oca-sync course specification"


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "programme.yaml").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "not overwriting" in result.output
    assert (tmp_path / "programme.yaml").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "rosters").exists(), "nothing else written either"


def test_init_bad_options(tmp_path: Path) -> None:
    for args, expected in ((["--key", "My Prog"], "--key"), (["--timezone", "Mars/Olympus"], "--timezone")):
        result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), *args])
        assert result.exit_code == 2 and expected in result.output, result.output
        assert "Traceback" not in result.output


def test_sessions_fall_next_week_whatever_the_day(tmp_path: Path) -> None:
    for day in range(7):
        today = dt.date(2026, 12, 7) + dt.timedelta(days=day)
        started = write_starter(tmp_path / str(day), today=today)
        loaded = load_spec(started.spec)
        first = min(s.start.date() for s in loaded.sessions["MYPROG-1"])
        assert today < first <= today + dt.timedelta(days=7) and first.weekday() == 0
