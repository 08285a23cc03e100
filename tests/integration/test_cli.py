"""The oca-sync command as a user runs it: a subprocess talking HTTP to the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oca_sync.moodle.client import MoodleClient

from .conftest import OCA_SPEC

CLI = [sys.executable, "-m", "oca_sync.cli"]


def run(args, env, timeout=120, **kw):
    return subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture
def env(moodle, tmp_path):
    return _env(moodle, tmp_path)


def _env(moodle, tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    e.update(OCA_MOODLE_URL=moodle.url, OCA_MOODLE_TOKEN=moodle.token, OCA_MOODLE_LANGUAGES="en,ru,ky",
             OCA_STATE_URL=f"sqlite:///{tmp_path}/state.sqlite", XDG_CONFIG_HOME=str(tmp_path),
             COLUMNS="200")
    return e


def test_plan_apply_replan_exit_codes(moodle, env):
    plan = run(["plan", "--detailed-exitcode", str(OCA_SPEC)], env)
    assert plan.returncode == 3, plan.stderr
    assert "+ moodle.course[OCA-KG-2022]" in plan.stdout
    assert plan.stdout.rstrip().endswith("to add, 0 to change, 0 to delete.")
    assert moodle.calls.write_count() == 0, "plan must not write"

    apply = run(["apply", "--yes", str(OCA_SPEC)], env)
    assert apply.returncode == 0, apply.stderr
    assert "Apply complete:" in apply.stdout

    again = run(["plan", "--detailed-exitcode", str(OCA_SPEC)], env)
    assert again.returncode == 0 and "No changes." in again.stdout
    doc = json.loads(run(["plan", "--json", str(OCA_SPEC)], env).stdout)
    assert doc["format_version"] == "1.1" and doc["changes"] == []


def test_apply_without_yes_and_without_a_terminal_refuses(moodle, env):
    r = run(["apply", str(OCA_SPEC)], env, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "--yes" in r.stderr
    assert moodle.calls.write_count() == 0


def test_invalid_spec_exits_2_with_location_and_no_call(moodle, env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(OCA_SPEC.read_text(encoding="utf-8").replace("timezone: Asia/Bishkek", "timezone: Asia/Bishkekk"),
                   encoding="utf-8")
    r = run(["apply", "--yes", str(bad)], env)
    assert r.returncode == 2
    assert f"{bad}:" in r.stderr and "programme.timezone" in r.stderr and "Asia/Bishkekk" in r.stderr
    assert len(moodle.calls) == 0, "an invalid spec must not reach Moodle"


def test_missing_settings_say_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    r = run(["plan", str(OCA_SPEC)], env)
    assert r.returncode == 2
    assert "OCA_MOODLE_URL" in r.stderr and "OCA_MOODLE_TOKEN" in r.stderr


def test_token_never_printed_logged_or_stored(moodle, env, tmp_path):
    r = run(["-vv", "apply", "--yes", str(OCA_SPEC)], env)
    assert r.returncode == 0, r.stderr
    moodle.faults.add("core_webservice_get_site_info", "status", count=10, status=500)
    failed = run(["-vv", "plan", str(OCA_SPEC)], env)
    assert failed.returncode == 1
    blob = r.stdout + r.stderr + failed.stdout + failed.stderr
    assert moodle.token not in blob
    state = Path(env["OCA_STATE_URL"].removeprefix("sqlite:///")).read_bytes()
    assert moodle.token.encode() not in state


def test_second_apply_is_refused_while_one_runs(moodle, env):
    from oca_sync.state import StateStore

    moodle.faults.add("core_course_create_courses", "slow", delay=3)
    first = subprocess.Popen(CLI + ["apply", "--yes", str(OCA_SPEC)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        store = StateStore(env["OCA_STATE_URL"])
        def first_holds_the_lock() -> bool:
            holder = store.lock_holder(f"apply:moodle:{moodle.url}:kg2022")
            return holder is not None and holder.pid == first.pid

        deadline = time.time() + 20
        while time.time() < deadline and not first_holds_the_lock():
            time.sleep(0.05)
        second = run(["apply", "--yes", str(OCA_SPEC)], env)
        assert second.returncode == 1, second.stderr
        assert "holds the lock" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err


@pytest.mark.parametrize("kill_after_writes", [1, 3, 8])
def test_apply_killed_then_rerun_converges_without_duplicates(moodle, env, kill_after_writes):
    _kill_and_rerun(moodle, env, kill_after_writes)
    client = MoodleClient(moodle.url, moodle.token)
    cid = _course_id(client)
    events = client.call("core_calendar_get_calendar_events", {"events": {"courseids": [cid]},
                         "options": {"timestart": 0, "userevents": 0, "siteevents": 0}}, raw=True)["events"]
    assert len(events) == 25


@pytest.mark.parametrize("kill_after_writes", [2, 4, 6])
def test_apply_through_the_plugin_killed_then_rerun_converges(moodle_plugin, tmp_path, kill_after_writes):
    env = _env(moodle_plugin, tmp_path)
    _kill_and_rerun(moodle_plugin, env, kill_after_writes)
    client = MoodleClient(moodle_plugin.url, moodle_plugin.token)
    state = client.call("local_ocasync_get_course_state", {"courseid": _course_id(client)})
    keys = [s["key"] for s in state["sections"] if s["key"]]
    idnumbers = [m["idnumber"] for m in state["modules"]]
    assert len(keys) == len(set(keys)) == 25
    # content, the pre and post surveys, a check-in per campaigning organisation (6), attendance
    assert len(idnumbers) == len(set(idnumbers)) == 22
    assert len(state["sections"]) == 26, "no section made twice"


def _course_id(client: MoodleClient) -> int:
    courses = client.call("core_course_get_courses_by_field", {"field": "idnumber",
                                                               "value": "oca:kg2022:OCA-KG-2022"})["courses"]
    assert len(courses) == 1
    return int(courses[0]["id"])


def _kill_and_rerun(moodle, env, kill_after_writes):
    # Every write is slow, so the process can be killed with work half done.
    moodle.faults.add("*", "slow", count=0, delay=0.15)
    proc = subprocess.Popen(CLI + ["apply", "--yes", str(OCA_SPEC)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while moodle.calls.write_count() < kill_after_writes and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL, "the apply had finished before it could be killed"
    moodle.faults.clear()
    assert moodle.calls.write_count() >= kill_after_writes

    rerun = run(["apply", "--yes", str(OCA_SPEC)], env)
    assert rerun.returncode == 0, rerun.stderr
    final = run(["plan", "--detailed-exitcode", str(OCA_SPEC)], env)
    assert final.returncode == 0, final.stdout

    client = MoodleClient(moodle.url, moodle.token)
    cid = _course_id(client)
    groups = client.call("core_group_get_course_groups", {"courseid": cid})
    assert len(groups) == len({g["idnumber"] for g in groups}) == 6
    cats = client.call("core_course_get_categories", {"criteria": [{"key": "idnumber", "value": "oca:kg2022"}]})
    assert len(cats) == 1
    users = client.call("core_enrol_get_enrolled_users", {"courseid": cid})
    assert len(users) == len({u["username"] for u in users})
