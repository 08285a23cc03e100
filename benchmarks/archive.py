"""Benchmark: one 1 GiB recording and 200 small files from the Zoom emulator to the Drive emulator.

    python benchmarks/archive.py [--big-mib 1024] [--small 200] [--runs 3] [--warmup 1] [--spy DIR]

Runs `oca-sync recordings archive` in a child process against the emulators
(which run in this process) and reports, over ``--runs`` paired runs:

* throughput, as a ratio against a plain streaming copy of the same files over
  loopback: a child process that downloads each from the Zoom emulator and
  streams it in one PUT into a Drive emulator upload session made beforehand
  (the same two servers; no lookups, chunking, hashing or verification). Each
  run is a pair (the baseline, then the archive at once after it), so load
  from other work on the machine falls on both sides of a pair; the ratio is
  taken per pair, and the median and spread of the ratios are printed.
  Target: median >= 0.8. ``--warmup`` pairs run first and are not counted:
  the first 1 GiB the emulators move in a process is slower than the next
  ones (for the baseline more than for the archive, so counting it flatters
  the archive).
* the archiving child's peak memory (VmHWM). Target < 100 MiB.
* the load average (1 minute) at the start of each run.

Between runs the archived files are trashed in the Drive emulator and the
state store is new, so every archive run uploads everything again. Each side
of a pair starts on an empty store and a synced disk: the emulator keeps the
bytes in files, and the kernel writing one side's 1 GiB back to disk while
the other side runs would bill that side for it (it did: before this, the
archive ran while the baseline's copy was being written back, and measured
0.74–0.84 of a baseline that never had to wait for the archive's).

Each run also prints the CPU seconds of each child and of the emulators: on a
machine busy with other work, the wall ratio tends to the ratio of CPU seconds.

``--spy DIR`` records py-spy profiles (raw, collapsed stacks) of the archiving
child (only threads holding the GIL: its Python CPU) and of this process (the
emulators, every thread) during the last archive run; peak memory is then not
measured (the child is py-spy). Install py-spy from PyPI to use it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from oca_sync.demo import sandboxes
from oca_sync.spec import load_spec
from oca_sync.zoom.client import ZoomClient
from oca_sync.zoom.meetings import apply_zoom, desired_meetings, observe_meetings, plan_zoom

MiB = 1 << 20


BASELINE = textwrap.dedent("""
    import json, sys, requests
    token, pairs = sys.argv[1], json.load(open(sys.argv[2]))
    s = requests.Session()
    for src, dst in pairs:
        with s.get(src, headers={"Authorization": "Bearer " + token}, stream=True) as r:
            r.raise_for_status()
            size = int(r.headers["Content-Length"])
            headers = {"Content-Length": str(size),
                       "Content-Range": f"bytes 0-{size - 1}/{size}" if size else "bytes */0"}
            s.put(dst, data=r.iter_content(1 << 20), headers=headers).raise_for_status()
""")


def make_spec(small_sessions: int) -> dict:
    sessions = [{"key": "big", "kind": "training", "title": "Big recording", "start": "2022-01-17T15:00",
                 "duration": 120, "host": "h"}]
    sessions.append({"key": "s", "kind": "mentoring", "title": "Small {n}", "duration": 30, "host": "h",
                     "recurrence": {"rrule": f"FREQ=DAILY;COUNT={small_sessions}", "start": "2022-01-18T10:00"}})
    return {
        "programme": {"key": "abench", "name": "Archive benchmark", "languages": ["en"]},
        "moodle": {"category": {"name": "Archive benchmark"}},
        "courses": [{"shortname": "AB", "fullname": "Archive benchmark", "start": "2022-01-10", "end": "2022-06-30",
                     "sessions": sessions}],
        "staff": [{"key": "h", "firstname": "H", "lastname": "Ost", "email": "host@example.org", "role": "trainer"}],
        "drive": {"root_folder": "Archive benchmark"},
    }


def _hwm(pid: int) -> int:
    """The process's peak resident memory since its exec (VmHWM; 0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


#: CPU seconds (user + system) of the last child and of this process (the emulators) during it.
CPU: dict[str, float] = {}


def child(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process; its CPU time and the emulators' in CPU.

    The peak is VmHWM, polled: ``ru_maxrss`` would also count the pages the
    child shared with this (large) process between fork and exec.
    """
    with tempfile.TemporaryFile() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        mine = time.process_time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU["child"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        CPU["emulators"] = time.process_time() - mine
        if proc.returncode != 0:
            out.seek(0)
            sys.exit(f"{cmd[2:5]} failed:\n{out.read().decode(errors='replace')}")
    return elapsed, peak


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=200, help="small files (4 per small session)")
    ap.add_argument("--runs", type=int, default=3, help="paired runs (baseline, then archive)")
    ap.add_argument("--warmup", type=int, default=1, help="paired runs made first and not counted")
    ap.add_argument("--spy", type=Path, help="write py-spy profiles of the last archive run here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench.yaml"
        spec_path.write_text(yaml.safe_dump(make_spec(max(1, a.small // 4))))
        loaded = load_spec(spec_path)
        with sandboxes(loaded) as sb:
            zoom = sb.zoom_client()
            desired = desired_meetings(loaded)
            apply_zoom(zoom, plan_zoom(desired, observe_meetings(zoom, desired)))
            big_id = next(m.id for m in observe_meetings(zoom, desired)[
                "oca:abench:AB:big"] if m.id)
            sb.zoom.set_recording_sizes(big_id, {"MP4_bytes": a.big_mib * MiB, "M4A_bytes": 0})
            for mid in sb.zoom.meetings:
                if mid != big_id:
                    sb.zoom.set_recording_sizes(mid, {"MP4_bytes": 40_000, "M4A_bytes": 8_000})
            sb.zoom.set_time(dt.datetime(2022, 7, 10, tzinfo=dt.timezone.utc))
            [big_file] = [f for f in sb.zoom.recording_files(big_id) if f.file_type == "MP4"]
            big_size = a.big_mib * MiB
            small = [f for mid in sb.zoom.meetings if mid != big_id for f in sb.zoom.recording_files(mid)]
            small_bytes = sum(f.size for f in small)
            expected = sum(len(sb.zoom.recording_files(mid)) for mid in sb.zoom.meetings)

            # the baseline downloads with a token of the same kind (issued at the emulator's new time)
            token = ZoomClient(**sb.zoom.credentials())._access_token()
            drive = sb.drive_client()
            folder = drive.ensure_folder("baseline", sb.drive.shared_drive_id, {"ocaFolder": "baseline"},
                                         key="ocaFolder")["id"]
            every = [big_file] + [f for f in sb.zoom.recording_files(big_id) if f is not big_file] + small
            env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
            env.update(sb.env(), XDG_CONFIG_HOME=tmp)
            archive_cmd = [sys.executable, "-m", "oca_sync.cli", "recordings", "archive", str(spec_path)]
            pairs: list[tuple[float, float, int, int, float]] = []
            cpu_ratios: list[float] = []
            for r in range(-a.warmup, a.runs):
                # Baseline: fresh upload sessions, made before the clock starts.
                urls = [(f"{sb.zoom.url}/rec/download/{f.id}",
                         drive.start_resumable(f"baseline-{r + a.warmup}-{i}", folder, "application/octet-stream", f.size))
                        for i, f in enumerate(every)]
                pairs_file = Path(tmp) / "pairs.json"
                pairs_file.write_text(json.dumps(urls))
                os.sync()
                load = os.getloadavg()[0]
                base_time, base_rss = child([sys.executable, "-c", BASELINE, token, str(pairs_file)], dict(os.environ))
                base_cpu = dict(CPU)
                copied = [f for f in sb.drive.all_files() if f["name"].startswith(f"baseline-{r + a.warmup}-")]
                if sorted(int(f.get("size", -1)) for f in copied) != sorted(f.size for f in every):
                    sys.exit(f"run {r + 1}: the baseline did not copy every file whole")
                _clear(sb, drive)
                os.sync()
                # Archive: a new state store, and nothing of ours left in Drive, so everything is uploaded.
                run_env = dict(env, OCA_STATE_URL=f"sqlite:///{tmp}/state-{r + a.warmup}.sqlite")
                spies = []
                cmd = archive_cmd
                if a.spy and r == a.runs - 1:
                    a.spy.mkdir(parents=True, exist_ok=True)
                    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
                    cmd = [spy, "record", "--threads", "--gil", "-f", "raw", "-r", "200", "-o",
                           str(a.spy / "archive-child.txt"), "--", *archive_cmd]
                    spies.append(subprocess.Popen([spy, "record", "--threads", "-f", "raw", "-r", "200", "-o",
                                                   str(a.spy / "emulators.txt"), "--pid", str(os.getpid())],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                    time.sleep(1)
                arch_time, arch_rss = child(cmd, run_env)
                for p in spies:
                    p.send_signal(2)
                    p.wait()
                files = [f for f in sb.drive.all_files() if not f["mimeType"].endswith("folder")
                         and not f["trashed"] and not f["name"].startswith("baseline-")]
                verified = [f for f in files if (f.get("appProperties") or {}).get("ocaVerified") == "1"]
                if len(verified) != expected or len(files) != expected:
                    sys.exit(f"run {r + 1 if r >= 0 else 'warm-up'}: {len(verified)} files archived and verified of {expected}")
                name = f"run {r + 1}" if r >= 0 else f"warm-up {r + a.warmup + 1} (not counted)"
                if r >= 0:
                    pairs.append((base_time, arch_time, base_rss, arch_rss, load))
                    cpu_ratios.append((base_cpu["child"] + base_cpu["emulators"]) / (CPU["child"] + CPU["emulators"]))
                print(f"{name}: load {load:.2f}; baseline {base_time:.1f} s (CPU: child {base_cpu['child']:.1f} s, "
                      f"emulators {base_cpu['emulators']:.1f} s), archive {arch_time:.1f} s (CPU: child "
                      f"{CPU['child']:.1f} s, emulators {CPU['emulators']:.1f} s), ratio {base_time / arch_time:.2f}, "
                      f"peak {arch_rss / MiB:.0f} MiB", flush=True)
                _clear(sb, drive)

    total = big_size + small_bytes
    ratios = [b / t for b, t, *_ in pairs]
    base_times = [p[0] for p in pairs]
    arch_times = [p[1] for p in pairs]
    peak = max(p[3] for p in pairs)
    print(f"files: {expected} per run (1 x {a.big_mib} MiB + {len(every) - 1} small, {small_bytes / MiB:.1f} MiB)")
    print(f"baseline streaming copy: median {statistics.median(base_times):.1f} s "
          f"({total / statistics.median(base_times) / MiB:.0f} MiB/s), runs {', '.join(f'{t:.1f}' for t in base_times)} s; "
          f"peak RSS {max(p[2] for p in pairs) / MiB:.0f} MiB")
    print(f"oca-sync recordings archive: median {statistics.median(arch_times):.1f} s "
          f"({total / statistics.median(arch_times) / MiB:.0f} MiB/s, including listing and verification), "
          f"runs {', '.join(f'{t:.1f}' for t in arch_times)} s")
    print(f"throughput ratio archive/baseline: median {statistics.median(ratios):.2f}, spread {spread(ratios)} "
          f"over {len(ratios)} paired runs (target median >= 0.8)")
    print(f"CPU ratio (baseline's CPU seconds / archive's, child and emulators): median "
          f"{statistics.median(cpu_ratios):.2f}, spread {spread(cpu_ratios)} (what the wall ratio tends to when "
          "other work keeps both cores busy)")
    if a.spy:
        print(f"peak memory: not measured under py-spy (profiles in {a.spy})")
    else:
        print(f"peak memory of the archiving child: {peak / MiB:.0f} MiB (target < 100 MiB)")
    print(f"load average (1 min) at the start of each run: {', '.join(f'{p[4]:.2f}' for p in pairs)}")


def _clear(sb, drive) -> None:
    """Trash every archived file (and drop the stored bytes of every file) before the next run."""
    for f in sb.drive.all_files():
        if not f["mimeType"].endswith("folder") and not f.get("trashed"):
            if not f["name"].startswith("baseline-"):
                drive.trash_file(f["id"])
    with sb.drive.lock:
        for f in sb.drive.files.values():
            if f.path is not None and f.path.exists() and f.size:
                f.path.unlink()
                f.path.write_bytes(b"")


if __name__ == "__main__":
    main()
