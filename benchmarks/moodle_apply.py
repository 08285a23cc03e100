"""Benchmark: first apply and no-op re-apply of a large spec against the Moodle emulator or a real site.

    python benchmarks/moodle_apply.py [--courses 20] [--sessions 24] [--users 3000] [--orgs-per-course 6]
    python benchmarks/moodle_apply.py --url https://moodle.example.org --token-file TOKEN [--languages en,ru]

With ``--url`` the passes run against that site (a test site: the benchmark
programme's category, 20 courses and 3,000 users are created there) and
print, per web-service function, the calls and the server's time (from each
response's elapsed time), and the ratio of our wall time to the sum of the
server's time.

Prints web-service calls (reads, writes, per function) and wall time for each
pass. Targets: the no-op re-apply makes zero writes; calls grow with courses
and batches, never with users, enrolments or memberships.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import subprocess
import threading
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from oca_sync import sync
from oca_sync.config import SiteOptions
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


def run_pass(label: str, url: str, token: str, site: SiteOptions, loaded, store: StateStore,
             concurrency: int) -> dict:
    client = MoodleClient(url, token, timeout=600, concurrency=concurrency)
    server: Counter[str] = Counter()  # seconds the server took, per function (time to the full answer)
    lock = threading.Lock()  # answers come back on several threads when batches go concurrently

    def timed(resp, *args, **kwargs):  # type: ignore[no-untyped-def]
        body = resp.request.body or b""
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        fn = next((part.split("=", 1)[1] for part in text.split("&") if part.startswith("wsfunction=")), "upload")
        with lock:
            server[fn] += resp.elapsed.total_seconds()

    client.session.hooks["response"].append(timed)
    t0 = time.perf_counter()
    result = sync.apply(client, loaded, site, store)
    elapsed = time.perf_counter() - t0
    calls: Counter[str] = client.stats.calls
    writes = sum(n for f, n in calls.items() if not is_read(f))
    total_server = sum(server.values())
    print(f"\n{label}: {elapsed:.2f} s, {client.stats.total} calls ({writes} writes), "
          f"{result.counts.created} created, {result.counts.updated} changed; server time {total_server:.2f} s, "
          f"our time / server time {elapsed / total_server if total_server else 0:.2f}")
    print(f"  {'calls':>6}  {'server s':>8}  function")
    for f, n in sorted(calls.items(), key=lambda kv: -server.get(kv[0], 0)):
        print(f"  {n:6d}  {server.get(f, 0):8.2f}  {f}{'' if is_read(f) else '  (write)'}")
    return {"time": elapsed, "calls": client.stats.total, "writes": writes, "server": total_server}


def after_pass(command: str | None, when: str) -> None:
    if command:
        out = subprocess.run(command, shell=True, check=True, capture_output=True, text=True).stdout.strip()
        print(f"  [{when}] {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--courses", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=24)
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--orgs-per-course", type=int, default=6)
    ap.add_argument("--url", help="a real (test) Moodle site instead of the emulator")
    ap.add_argument("--token-file", type=Path, help="file holding the site's web-service token")
    ap.add_argument("--languages", default="en,ru", help="the site's installed languages (without the plugin)")
    ap.add_argument("--concurrency", type=int, default=4,
                    help="write batches sent at once (OCA_MOODLE_CONCURRENCY; 1: one request at a time)")
    ap.add_argument("--noop-passes", type=int, default=1,
                    help="no-op re-applies to run (their median is printed: a shared machine's load varies)")
    ap.add_argument("--after-pass", metavar="CMD",
                    help="a shell command run before the first pass and after each (e.g. one that counts the write "
                         "events in a real site's log store); its output is printed")
    a = ap.parse_args()
    if bool(a.url) != bool(a.token_file):
        ap.error("--url and --token-file go together")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if a.url:
            url, token = a.url.rstrip("/"), a.token_file.read_text(encoding="utf-8").strip()
            site = SiteOptions(languages=tuple(a.languages.split(",")))
            print(f"site: {url}")
        else:
            moodle = stack.enter_context(MoodleSandbox())
            url, token, site = moodle.url, moodle.token, moodle.site_options()
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(make_spec(a.courses, a.sessions, a.users, a.orgs_per_course),
                                       allow_unicode=True), encoding="utf-8")
        t0 = time.perf_counter()
        loaded = load_spec(path)
        print(f"concurrency: {a.concurrency}")
        print(f"spec: {a.courses} courses x {a.sessions} sessions, {len(loaded.spec.organisations)} groups, "
              f"{sum(len(v) for v in loaded.members.values()) + 1} users; loaded in {time.perf_counter() - t0:.2f} s")
        store = StateStore(f"sqlite:///{tmp}/state.sqlite")
        after_pass(a.after_pass, "before the first pass")
        first = run_pass("first apply", url, token, site, loaded, store, a.concurrency)
        after_pass(a.after_pass, "after the first apply")
        agains = []
        for n in range(a.noop_passes):
            agains.append(run_pass("no-op re-apply" + (f" {n + 1}" if a.noop_passes > 1 else ""), url, token, site,
                                   loaded, store, a.concurrency))
            after_pass(a.after_pass, "after the no-op re-apply")
        again = sorted(agains, key=lambda r: r["time"])[len(agains) // 2]
        if a.noop_passes > 1:
            times = ", ".join(f"{r['time']:.2f}" for r in agains)
            print(f"\nno-op re-apply: median {again['time']:.2f} s of {a.noop_passes} ({times}); "
                  f"server time {again['server']:.2f} s")
        n_users = sum(len(v) for v in loaded.members.values())
        print("\nsummary")
        print(f"  first apply calls per course: {first['calls'] / a.courses:.1f}; "
              f"calls per user+enrolment+membership: {first['calls'] / (3 * n_users):.3f}")
        print(f"  re-apply: {again['writes']} writes (target 0), {again['calls']} reads; "
              f"time ratio re-apply/first: {again['time'] / first['time']:.2f}")


if __name__ == "__main__":
    main()
