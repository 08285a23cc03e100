"""Benchmark: Zoom meetings for 20 hosts x 24 sessions against the Zoom emulator.

    python benchmarks/zoom_meetings.py [--hosts 20] [--sessions 24]

Prints the API calls (by endpoint) and wall time of a first apply and of a
no-op re-apply. Targets: the no-op makes zero writes and one listing per host.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import yaml

from oca_sync.sandbox.zoom import ZoomSandbox
from oca_sync.spec import parse_spec_text
from oca_sync.zoom.client import ZoomClient
from oca_sync.zoom.meetings import apply_zoom, desired_meetings, observe_meetings, plan_zoom


def make_spec(hosts: int, sessions: int) -> str:
    spec = {
        "programme": {"key": "zbench", "name": "Zoom benchmark", "languages": ["en"]},
        "moodle": {"category": {"name": "Zoom benchmark"}},
        "courses": [{
            "shortname": f"Z{h:02d}", "fullname": f"Course {h}", "start": "2022-01-10", "end": "2022-06-30",
            "sessions": [{"key": "s", "kind": "training", "title": "Session {n}", "duration": 60, "host": f"h{h:02d}",
                          "recurrence": {"rrule": f"FREQ=DAILY;COUNT={sessions}", "start": "2022-01-17T15:00"}}],
        } for h in range(hosts)],
        "staff": [{"key": f"h{h:02d}", "firstname": "Host", "lastname": str(h), "email": f"h{h:02d}@example.org",
                   "role": "trainer"} for h in range(hosts)],
    }
    return yaml.safe_dump(spec)


def run_pass(label: str, sb: ZoomSandbox, client: ZoomClient, loaded) -> dict:
    sb.calls.clear()
    t0 = time.perf_counter()
    desired = desired_meetings(loaded)
    observed = observe_meetings(client, desired)
    plan = plan_zoom(desired, observed)
    result = apply_zoom(client, plan)
    elapsed = time.perf_counter() - t0
    calls = Counter(name for name, _ in sb.calls)
    writes = sum(n for name, n in calls.items() if not name.startswith("GET ") and "oauth" not in name)
    print(f"\n{label}: {elapsed:.2f} s, {sum(calls.values())} calls ({writes} writes); "
          f"{result.created} created, {result.updated} updated")
    for name, n in calls.most_common():
        print(f"  {n:6d}  {name}")
    return {"time": elapsed, "writes": writes, "listings": calls["GET /users/{userId}/meetings"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=24)
    a = ap.parse_args()
    loaded = parse_spec_text(make_spec(a.hosts, a.sessions), "zoom-bench.yaml")
    users = [f"h{h:02d}@example.org" for h in range(a.hosts)]
    with ZoomSandbox(users=users) as sb:
        import datetime as dt

        sb.set_time(dt.datetime(2022, 1, 3, tzinfo=dt.timezone.utc))
        client = ZoomClient(**sb.credentials())
        first = run_pass("first apply", sb, client, loaded)
        again = run_pass("no-op re-apply", sb, client, loaded)
    print("\nsummary")
    print(f"  first apply: {first['writes']} writes for {a.hosts * a.sessions} sessions, {first['time']:.2f} s")
    print(f"  no-op re-apply: {again['writes']} writes (target 0), {again['listings']} listings for {a.hosts} hosts "
          f"(target {a.hosts}), {again['time']:.2f} s; time ratio re-apply/first {again['time'] / first['time']:.2f}")


if __name__ == "__main__":
    main()
