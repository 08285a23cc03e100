"""Benchmark: a huge roster through validate, plan, the text plan and `plan --json` (issue 13 item 8).

    python benchmarks/huge_roster.py [--people 100000]

Writes a programme with one organisation whose roster has N people, then
measures, against an empty site (every person is a user to create and an
enrolment to make): loading and validating the spec, building the desired
site and the plan, rendering the text plan (summarised beyond a few hundred
changes of a kind), and streaming `plan --json` to a null device. Prints the
time of each step, the lines of text plan, the JSON size, and the peak memory
(the process's VmHWM, read from /proc, so C allocations count too) beside the
same figures for a baseline of N/10 people. Target: under 300 MiB for 100,000
people; the text plan stays a screenful whatever N.

With ``--apply N`` it also runs ``oca-sync apply --yes`` for a roster of N
people as a child process against the Moodle emulator (which runs in this
process), twice, and prints each run's wall time, the time to its first
write, its web-service calls and its peak memory (VmHWM, polled).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def make(folder: Path, people: int) -> Path:
    (folder / "rosters").mkdir(parents=True)
    with open(folder / "rosters" / "big.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["key", "firstname", "lastname", "email", "lang"])
        for i in range(people):
            w.writerow([f"u{i:06d}", "Айбек" if i % 2 else "Aibek", f"Osmonov{i}", f"u{i:06d}@example.org", "ru"])
    spec = {"programme": {"key": "huge", "name": {"en": "Huge", "ru": "Большой"}, "languages": ["en", "ru"]},
            "moodle": {"category": {"name": "Huge"}},
            "courses": [{"shortname": "H1", "fullname": "Huge", "start": "2030-01-06", "end": "2030-03-01"}],
            "organisations": [{"key": "all", "name": "All", "roster": "rosters/big.csv"}]}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


CHILD = r"""
import json, os, sys, time
from oca_sync.spec import load_spec
from oca_sync.moodle.desired import build
from oca_sync.moodle import model as m
from oca_sync.moodle.planner import plan_moodle
from oca_sync.plan import render_lines
t0 = time.perf_counter()
loaded = load_spec(sys.argv[1])
t1 = time.perf_counter()
plan = plan_moodle(build(loaded, ("en", "ru"), {}), m.ObservedSite(), {"student": 5, "editingteacher": 3})
t2 = time.perf_counter()
lines = sum(1 for _ in render_lines(plan))
t3 = time.perf_counter()
with open(os.devnull, "w", encoding="utf-8") as null:
    class Counting:
        n = 0
        def write(self, s):
            Counting.n += len(s.encode())
            return null.write(s)
    plan.write_json(Counting())
t4 = time.perf_counter()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) // 1024
print(json.dumps({"load": t1 - t0, "plan": t2 - t1, "text": t3 - t2, "json": t4 - t3, "lines": lines,
                  "json_mb": Counting.n / 1e6, "changes": len(plan.changes), "peak_mib": hwm}))
"""


def measure(people: int) -> dict[str, float]:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        spec = make(Path(tmp), people)
        # A child process per size: its peak memory is its own, not the larger run's.
        out = subprocess.run([sys.executable, "-c", CHILD, str(spec)], capture_output=True, text=True, check=True,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout)


def _hwm(pid: int) -> int:
    """The process's peak resident memory in MiB since its exec (VmHWM; 0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def measure_apply(people: int) -> list[dict[str, float]]:
    """Two runs of ``oca-sync apply --yes`` (the first creates everything, the second nothing)."""
    from oca_sync.demo import sandboxes
    from oca_sync.spec import load_spec

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = make(Path(tmp), people)
        with sandboxes(load_spec(spec)) as sb:
            env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
            env.update(sb.env(), OCA_STATE_URL=f"sqlite:///{tmp}/state.sqlite", XDG_CONFIG_HOME=tmp,
                       PYTHONPATH=str(ROOT))
            for _ in range(2):
                calls_before, writes_before = len(sb.moodle.calls.names()), len(sb.moodle.calls.writes())
                t0 = time.perf_counter()
                first_write = None
                peak = 0
                with tempfile.TemporaryFile() as out:
                    proc = subprocess.Popen([sys.executable, "-m", "oca_sync.cli", "apply", "--yes", str(spec)],
                                            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
                    while proc.poll() is None:
                        peak = max(peak, _hwm(proc.pid))
                        if first_write is None and len(sb.moodle.calls.writes()) > writes_before:
                            first_write = time.perf_counter() - t0
                        time.sleep(0.05)
                    if proc.returncode != 0:
                        out.seek(0)
                        sys.exit(f"apply failed ({proc.returncode}):\n{out.read().decode(errors='replace')[-3000:]}")
                runs.append({"time": time.perf_counter() - t0, "first_write": first_write or 0.0, "peak_mib": peak,
                             "calls": len(sb.moodle.calls.names()) - calls_before,
                             "writes": len(sb.moodle.calls.writes()) - writes_before})
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--apply", type=int, metavar="N", help="also apply a roster of N people to the Moodle emulator")
    args = ap.parse_args()
    if args.apply:
        for label, r in zip(("first apply", "re-apply"), measure_apply(args.apply), strict=True):
            print(f"{label} of {args.apply:,} people to the Moodle emulator: {r['time']:.1f} s "
                  f"(first write after {r['first_write']:.1f} s), {r['calls']} calls ({r['writes']} writes), "
                  f"peak {r['peak_mib']} MiB")
    start = time.perf_counter()
    rows = [(n, measure(n)) for n in (max(1, args.people // 10), args.people)]
    print(f"{'people':>8} {'changes':>8} {'load s':>7} {'plan s':>7} {'text s':>7} {'lines':>6} "
          f"{'json s':>7} {'json MB':>8} {'peak MiB':>9}")
    for n, r in rows:
        print(f"{n:>8,} {r['changes']:>8,} {r['load']:>7.1f} {r['plan']:>7.1f} {r['text']:>7.2f} {r['lines']:>6} "
              f"{r['json']:>7.1f} {r['json_mb']:>8.1f} {r['peak_mib']:>9}")
    (small, a), (big, b) = rows
    print(f"peak memory ratio {b['peak_mib'] / a['peak_mib']:.1f} for {big / small:.0f}x the people; "
          f"target: under 300 MiB at 100,000 ({'met' if b['peak_mib'] < 300 or big < 100_000 else 'NOT met'}); "
          f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
