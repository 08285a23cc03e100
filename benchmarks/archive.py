"""Benchmark: one 1 GiB recording and 200 small files from the Zoom emulator to the Drive emulator.

    python benchmarks/archive.py [--big-mib 1024] [--small 200]

Runs `oca-sync recordings archive` in a child process against the emulators
(which run in this process) and reports:

* throughput, as a ratio against a plain streaming copy of the same files over
  loopback in the same run: a child process that downloads each from the Zoom
  emulator and streams it in one PUT into a Drive emulator upload session made
  beforehand (the same two servers; no lookups, chunking, hashing or
  verification). Target >= 0.6.
* the child's peak memory (max RSS). Target < 200 MiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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


def child(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process.

    The peak is VmHWM, polled: ``ru_maxrss`` would also count the pages the
    child shared with this (large) process between fork and exec.
    """
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            out.seek(0)
            sys.exit(f"{cmd[2:5]} failed:\n{out.read().decode(errors='replace')}")
    return elapsed, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=200, help="small files (4 per small session)")
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

            # the baseline downloads with a token of the same kind (issued at the emulator's new time)
            token = ZoomClient(**sb.zoom.credentials())._access_token()
            drive = sb.drive_client()
            folder = drive.ensure_folder("baseline", sb.drive.shared_drive_id, {"ocaFolder": "baseline"},
                                         key="ocaFolder")["id"]
            every = [big_file] + [f for f in sb.zoom.recording_files(big_id) if f is not big_file] + small
            # Three baseline runs (each into fresh upload sessions); the median is the reference.
            runs = []
            for r in range(3):
                pairs = [(f"{sb.zoom.url}/rec/download/{f.id}",
                          drive.start_resumable(f"baseline-{r}-{i}", folder, "application/octet-stream", f.size))
                         for i, f in enumerate(every)]
                pairs_file = Path(tmp) / "pairs.json"
                pairs_file.write_text(json.dumps(pairs))
                runs.append(child([sys.executable, "-c", BASELINE, token, str(pairs_file)], dict(os.environ)))
            base_time, base_rss = sorted(runs)[1]
            baseline_bytes = sb.drive.chunk_bytes()

            env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
            env.update(sb.env(), OCA_STATE_URL=f"sqlite:///{tmp}/state.sqlite", XDG_CONFIG_HOME=tmp)
            arch_time, arch_rss = child([sys.executable, "-m", "oca_sync.cli", "recordings", "archive",
                                         str(spec_path)], env)
            uploaded = sb.drive.chunk_bytes() - baseline_bytes
            files = [f for f in sb.drive.all_files() if not f["mimeType"].endswith("folder")
                     and not f["name"].startswith("baseline-")]
            expected = sum(len(sb.zoom.recording_files(mid)) for mid in sb.zoom.meetings)

    total = big_size + small_bytes
    base_rate = total / base_time
    arch_rate = total / arch_time
    print(f"files archived: {len(files)} of {expected} (1 x {a.big_mib} MiB + {len(small)} small files, "
          f"{small_bytes / MiB:.1f} MiB)")
    print(f"baseline streaming copy of the same {len(every)} files, Zoom emulator -> Drive emulator "
          f"(median of {', '.join(f'{t:.1f}' for t, _ in runs)} s): {base_time:.1f} s, "
          f"{base_rate / MiB:.0f} MiB/s, peak RSS {base_rss / MiB:.0f} MiB")
    print(f"oca-sync recordings archive: {arch_time:.1f} s, {arch_rate / MiB:.0f} MiB/s "
          f"(including listing and verification), peak RSS {arch_rss / MiB:.0f} MiB")
    print(f"bytes uploaded in chunks: {uploaded / MiB:.1f} MiB")
    print(f"throughput ratio archive/baseline: {arch_rate / base_rate:.2f} (target >= 0.6)")
    print(f"peak memory: {arch_rss / MiB:.0f} MiB (target < 200 MiB)")


if __name__ == "__main__":
    main()
