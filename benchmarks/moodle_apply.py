"""Benchmark: first apply and no-op re-apply of a large spec against the Moodle emulator.

    python benchmarks/moodle_apply.py [--courses 20] [--sessions 24] [--users 3000] [--orgs-per-course 6]

Prints web-service calls (reads, writes, per function) and wall time for each
pass. Targets: the no-op re-apply makes zero writes; calls grow with courses
and batches, never with users, enrolments or memberships.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from oca_sync import sync
from oca_sync.moodle.client import MoodleClient, is_read
from oca_sync.sandbox.moodle import MoodleSandbox
from oca_sync.spec import load_spec
from oca_sync.state import StateStore


def make_spec(courses: int, sessions: int, users: int, orgs_per_course: int) -> dict:
    start = dt.date(2022, 1, 10)
    spec: dict = {
        "programme": {"key": "bench", "name": {"en": "Benchmark", "ru": "Тест"}, "languages": ["en", "ru"]},
        "moodle": {"category": {"name": "Benchmark"}},
        "courses": [],
        "organisations": [],
        "staff": [{"key": "trainer", "firstname": "T", "lastname": "Rainer", "email": "t@example.org",
                   "role": "trainer"}],
    }
    n_orgs = courses * orgs_per_course
    per_org = users // n_orgs
    for c in range(courses):
        short = f"B{c:02d}"
        spec["courses"].append({
            "shortname": short, "fullname": {"en": f"Course {c}", "ru": f"Курс {c}"},
            "start": start.isoformat(), "end": (start + dt.timedelta(days=120)).isoformat(),
            "sessions": [{
                "key": "s", "kind": "training", "title": {"en": "Session {n}", "ru": "Занятие {n}"},
                "duration": 90, "host": "trainer",
                "recurrence": {"rrule": f"FREQ=DAILY;COUNT={sessions}", "start": f"{start.isoformat()}T15:00:00"},
            }],
        })
        for o in range(orgs_per_course):
            key = f"o{c:02d}-{o}"
            spec["organisations"].append({
                "key": key, "name": f"Organisation {c}-{o}", "courses": [short],
                "members": [{"key": f"u{c:02d}{o}{i:03d}", "firstname": "M", "lastname": f"Ember{i}",
                             "email": f"u{c:02d}{o}{i:03d}@example.org"} for i in range(per_org)],
            })
    return spec


def run_pass(label: str, moodle: MoodleSandbox, loaded, store: StateStore) -> dict:
    client = MoodleClient(moodle.url, moodle.token, timeout=120)
    t0 = time.perf_counter()
    result = sync.apply(client, loaded, moodle.site_options(), store)
    elapsed = time.perf_counter() - t0
    calls: Counter[str] = client.stats.calls
    writes = sum(n for f, n in calls.items() if not is_read(f))
    print(f"\n{label}: {elapsed:.2f} s, {client.stats.total} calls ({writes} writes), "
          f"{result.counts.created} created, {result.counts.updated} changed")
    for f, n in sorted(calls.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {f}{'' if is_read(f) else '  (write)'}")
    return {"time": elapsed, "calls": client.stats.total, "writes": writes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--courses", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=24)
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--orgs-per-course", type=int, default=6)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MoodleSandbox() as moodle:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(make_spec(a.courses, a.sessions, a.users, a.orgs_per_course),
                                       allow_unicode=True), encoding="utf-8")
        t0 = time.perf_counter()
        loaded = load_spec(path)
        print(f"spec: {a.courses} courses x {a.sessions} sessions, {len(loaded.spec.organisations)} groups, "
              f"{sum(len(v) for v in loaded.members.values()) + 1} users; loaded in {time.perf_counter() - t0:.2f} s")
        store = StateStore(f"sqlite:///{tmp}/state.sqlite")
        first = run_pass("first apply", moodle, loaded, store)
        again = run_pass("no-op re-apply", moodle, loaded, store)
        n_users = sum(len(v) for v in loaded.members.values())
        print("\nsummary")
        print(f"  first apply calls per course: {first['calls'] / a.courses:.1f}; "
              f"calls per user+enrolment+membership: {first['calls'] / (3 * n_users):.3f}")
        print(f"  re-apply: {again['writes']} writes (target 0), {again['calls']} reads; "
              f"time ratio re-apply/first: {again['time'] / first['time']:.2f}")


if __name__ == "__main__":
    main()
