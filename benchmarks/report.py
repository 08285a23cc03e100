"""Benchmark: report collect and build for a large programme on the sandbox.

    python benchmarks/report.py [--courses 20] [--sessions 24] [--users 3000] [--orgs-per-course 6]

Applies a generated spec (the one of moodle_apply.py plus pre/post surveys, a
check-in, attendance, completion rules and campaigns) to the Moodle emulator,
makes up attendance, survey answers and check-ins for everyone, then collects
and builds the report. Prints the web-service calls of the collect (per
function), the time of each step and the peak memory of the build.
Targets: collect calls do not depend on the number of users; build < 10 s.
``--compare-users N`` collects a second programme with N users and prints both
call counts side by side.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

from oca_sync import sync
from oca_sync.demo import sandboxes, seed_outcomes
from oca_sync.report.collect import collect
from oca_sync.report.render import build
from oca_sync.spec import load_spec
from oca_sync.state import StateStore

HERE = Path(__file__).resolve().parent


def _base_spec() -> Any:
    spec = importlib.util.spec_from_file_location("moodle_apply", HERE / "moodle_apply.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_spec


def make_spec(courses: int, sessions: int, users: int, orgs_per_course: int) -> dict:
    spec: dict = _base_spec()(courses, sessions, users, orgs_per_course)
    rating = {"type": "rating", "min": 1, "max": 5, "required": True}
    for course in spec["courses"]:
        course["surveys"] = [
            {"key": "pre", "kind": "pre", "title": "Before", "questions": [
                {"key": "skill", "text": "Skill", **rating}, {"key": "confidence", "text": "Confidence", **rating},
                {"key": "channels", "type": "multichoice_multi", "text": "Channels",
                 "options": ["Facebook", "Instagram", "Telegram"]},
                {"key": "hopes", "type": "textarea", "text": "Hopes"}]},
            {"key": "post", "kind": "post", "title": "After", "questions": [
                {"key": "skill", "text": "Skill", **rating}, {"key": "confidence", "text": "Confidence", **rating},
                {"key": "advice", "type": "textarea", "text": "Advice"}]},
            {"key": "weekly", "kind": "checkin", "title": "Weekly", "questions": [
                {"key": "date", "type": "text", "text": "Week"},
                {"key": "platform", "type": "multichoice", "text": "Platform",
                 "options": ["Facebook", "Instagram", "Telegram"]},
                {"key": "posts", "type": "numeric", "text": "Posts", "min": 0, "max": 1000},
                {"key": "reach", "type": "numeric", "text": "Reach", "min": 0, "max": 10000000}]},
        ]
        course["attendance"] = {"sessions": ["training"]}
        course["completion"] = {"attend": [{"kind": "training", "at_least": max(1, sessions * 3 // 4)}],
                                "surveys": ["pre", "post"]}
    for org in spec["organisations"]:
        org["campaign"] = {"title": f"Campaign of {org['key']}", "aim": ["horizontal"], "start": "2022-02-01",
                           "end": "2022-04-30", "platforms": [{"platform": "facebook"}, {"platform": "telegram"}],
                           "targets": {"posts": 40, "reach": 50000}}
    return spec


def collect_for(users: int, args: argparse.Namespace, tmp: Path, *, build_too: bool) -> dict[str, Any]:
    path = tmp / f"bench-{users}.yaml"
    path.write_text(yaml.safe_dump(make_spec(args.courses, args.sessions, users, args.orgs_per_course),
                                   allow_unicode=True), encoding="utf-8")
    loaded = load_spec(path)
    out: dict[str, Any] = {}
    with sandboxes(loaded) as sb:
        store = StateStore(f"sqlite:///{tmp}/state-{users}.sqlite")
        t0 = time.perf_counter()
        sync.apply(sb.moodle_client(), loaded, sb.site(), store, hooks=sync.Hooks(confirm=lambda p: True))
        t1 = time.perf_counter()
        seeded = seed_outcomes(sb, loaded)
        t2 = time.perf_counter()
        print(f"[{users} users] apply {t1 - t0:.1f} s; made up {seeded} in {t2 - t1:.1f} s", file=sys.stderr)
        reader = sb.moodle_client()
        reader.timeout = 300
        t3 = time.perf_counter()
        data = collect(loaded, reader, store)
        out["collect_s"] = time.perf_counter() - t3
        out["calls"] = dict(reader.stats.calls)
        out["rows"] = {"attendance": len(data.attendance), "responses": len(data.responses)}
    if build_too:
        t4, c4 = time.perf_counter(), time.process_time()
        built = build(loaded, data, tmp / "report")
        out["build_s"] = time.perf_counter() - t4
        # CPU time too: on a shared machine the wall time says more about the others' load than about the build
        out["build_cpu_s"] = time.process_time() - c4
        out["html_bytes"] = (built.folder / "report.html").stat().st_size
        tracemalloc.start()
        build(loaded, data, tmp / "report-again")
        out["build_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--courses", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=24)
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--orgs-per-course", type=int, default=6)
    ap.add_argument("--compare-users", type=int, default=0, help="also collect with this many users")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="oca-bench-report-") as tmp:
        big = collect_for(args.users, args, Path(tmp), build_too=True)
        small = collect_for(args.compare_users, args, Path(tmp), build_too=False) if args.compare_users else None
    print(f"\n{args.courses} courses x {args.sessions} sessions, {args.users} users")
    print(f"collect: {sum(big['calls'].values())} calls in {big['collect_s']:.2f} s "
          f"({big['rows']['attendance']} attendance records, {big['rows']['responses']} responses)")
    for f, n in sorted(big["calls"].items(), key=lambda kv: -kv[1]):
        other = f"   ({small['calls'].get(f, 0)} with {args.compare_users} users)" if small else ""
        print(f"  {n:6d}  {f}{other}")
    print(f"build: {big['build_s']:.2f} s ({big['build_cpu_s']:.2f} s of CPU), report.html {big['html_bytes'] / 1024:.0f} KiB, "
          f"peak traced memory {big['build_peak_mb']:.0f} MiB")
    print(f"process peak RSS (emulator included): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if small:
        same = big["calls"] == small["calls"]
        print(f"calls independent of users: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
