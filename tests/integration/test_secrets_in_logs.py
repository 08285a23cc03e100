"""No credential in any output, log, state store, plan or file, at -vv, for every command (issue 13, item 2).

Every command runs as a user runs it (a subprocess at ``-vv``, so urllib3,
googleapiclient and uvicorn log their debug lines) against emulators that
hold recognisable fake secrets. Outputs are compared with their whitespace
removed, so that a secret wrapped over two lines by the log renderer is still
found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from oca_sync.demo import Sandboxes, hosts_of
from oca_sync.sandbox.drive import DriveSandbox
from oca_sync.sandbox.moodle import MoodleSandbox
from oca_sync.sandbox.zoom import ZoomSandbox

from .conftest import OCA_SPEC

CLI = [sys.executable, "-m", "oca_sync.cli", "-vv"]

MOODLE_TOKEN = "FAKEmoodleTOKEN0123456789abcdef0"
ZOOM_SECRET = "FAKE-zoom-client-SECRET-0123456789"
DRIVE_TOKEN = "ya29.FAKE-drive-TOKEN-0123456789"
WEBHOOK_SECRET = "FAKE-webhook-SECRET-0123456789"
DOWNLOAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.FAKEdownloadTOKEN0123.FAKEsig0123"

#: A credential-bearing URL parameter or header left unmasked.
UNMASKED = re.compile(r"(upload_id|sig|access_token|download_access_token|wstoken|token)=(?!\*\*\*)[^&\s\"'<>]"
                      r"|Bearer(?!\*\*\*)[A-Za-z0-9]|sbx\.|sbxdl\.|ya29\.", re.IGNORECASE)


def squeeze(text: str) -> str:
    return "".join(text.split())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign(body: bytes, ts: str) -> str:
    return "v0=" + hmac.new(WEBHOOK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


@pytest.fixture
def sandboxes(oca):
    moodle = MoodleSandbox(langs=("en", "ru", "ky"), multilang_filter=True, filterall=True, token=MOODLE_TOKEN)
    zoom = ZoomSandbox(users=hosts_of(oca), client_secret=ZOOM_SECRET)
    zoom.set_time(dt.datetime(2022, 1, 3, tzinfo=dt.UTC))
    drive = DriveSandbox(token=DRIVE_TOKEN)
    with moodle, zoom, drive:
        yield Sandboxes(moodle, zoom, drive)


def test_every_command_at_debug_level_keeps_every_secret_out(sandboxes: Sandboxes, tmp_path: Path) -> None:
    sb = sandboxes
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    env.update(sb.env(), OCA_STATE_URL=f"sqlite:///{tmp_path}/state.sqlite", XDG_CONFIG_HOME=str(tmp_path),
               OCA_ZOOM_WEBHOOK_SECRET=WEBHOOK_SECRET, COLUMNS="120", TMPDIR=str(tmp_path))
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        r = subprocess.run(CLI + list(args), env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert r.returncode in ok, f"{name}: {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
        outputs[name] = r.stdout + "\n" + r.stderr

    spec = str(OCA_SPEC)
    run("validate", "validate", spec)
    run("plan", "plan", spec)
    run("plan --json", "plan", "--json", spec)
    run("apply", "apply", "--yes", spec)
    run("calendar export", "calendar", "export", spec, "-o", str(tmp_path / "programme.ics"))
    run("moodle doctor", "moodle", "doctor", ok=(0, 1))
    run("moodle plugin build", "moodle", "plugin", "build", "-o", str(tmp_path))
    run("unlock", "unlock", "apply:nothing", ok=(1,))
    sb.zoom.set_time(dt.datetime(2022, 5, 10, tzinfo=dt.UTC))  # the programme is over: recordings exist
    sb.zoom.cut_downloads(after_bytes=50_000, count=2)  # the resume path logs URLs too
    run("recordings archive", "recordings", "archive", "--types", "M4A,CHAT", spec)
    run("materials archive", "materials", "archive", spec)

    # serve: uvicorn's own loggers too; an event carrying a download token, a request line with a query
    port = free_port()
    proc = subprocess.Popen(CLI + ["serve", spec, "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        meeting = sb.zoom.meetings[min(sb.zoom.meetings)]
        event = {"event": "recording.completed", "event_ts": int(time.time() * 1000),
                 "download_token": DOWNLOAD_TOKEN,
                 "payload": {"object": {"id": meeting.id, "uuid": "FAKEuuid==", "recording_files": []}}}
        body = json.dumps(event).encode()
        ts = str(int(time.time()))
        r = requests.post(f"{url}/zoom/webhook?access_token={DOWNLOAD_TOKEN}", data=body, timeout=10,
                          headers={"content-type": "application/json", "x-zm-request-timestamp": ts,
                                   "x-zm-signature": sign(body, ts)})
        assert r.status_code == 200, r.text
        time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    outputs["serve"] = out + "\n" + err
    # uvicorn's access log goes through our one log handler (stderr), masked
    assert '"POST /zoom/webhook?access_token=*** HTTP/1.1" 200' in err, err
    assert "Logging error" not in err and proc.returncode == 128 + signal.SIGTERM

    zoom_tokens = sb.zoom.issued_tokens()
    upload_ids = list(sb.drive.sessions)
    assert zoom_tokens and upload_ids, "the run must have used Zoom tokens and Drive upload sessions"
    secrets = [MOODLE_TOKEN, ZOOM_SECRET, DRIVE_TOKEN, WEBHOOK_SECRET, DOWNLOAD_TOKEN, *zoom_tokens, *upload_ids]
    # files written: the state store (and its journal), the plan, the calendar, the plugin's ZIP
    outputs["plan JSON"] = outputs["plan --json"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                outputs[str(path)] = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif path.is_file():
            outputs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any(name.endswith("state.sqlite") for name in outputs) and any(n.endswith(".ics") for n in outputs)
    assert "DEBUG" in outputs["recordings archive"] and "upload_id=***" in squeeze(outputs["recordings archive"])
    for name, text in outputs.items():
        flat = squeeze(text)
        for secret in secrets:
            assert secret not in flat, f"{name} shows a secret ({secret[:8]}…)"
        found = UNMASKED.search(flat)
        assert found is None, f"{name} shows a credential: {flat[max(0, found.start() - 80):found.end() + 20]}"


def test_demo_at_debug_level_shows_no_credential(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path), COLUMNS="120", TMPDIR=str(tmp_path))
    r = subprocess.run(CLI + ["demo", str(OCA_SPEC)], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    flat = squeeze(r.stdout + r.stderr)
    assert "upload_id=***" in flat and "sig=***" in flat
    found = UNMASKED.search(flat)
    assert found is None, flat[max(0, found.start() - 80):found.end() + 20]


def test_sandbox_at_debug_level_logs_no_credential(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path), COLUMNS="120", TMPDIR=str(tmp_path))
    proc = subprocess.Popen(CLI + ["sandbox"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "Press Ctrl-C" in line:
            break
    exports = dict(re.findall(r"export (\w+)=(\S+)", "".join(lines)))
    # the sandbox prints its own (throw-away) credentials for the user to paste: that is its job
    assert exports["OCA_MOODLE_TOKEN"] and exports["OCA_DRIVE_TOKEN"].startswith("ya29.")
    requests.get(exports["OCA_MOODLE_URL"] + "/webservice/rest/server.php",
                 params={"wstoken": exports["OCA_MOODLE_TOKEN"]}, timeout=10)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    flat = squeeze(err)
    for name in ("OCA_MOODLE_TOKEN", "OCA_ZOOM_CLIENT_SECRET", "OCA_DRIVE_TOKEN"):
        assert exports[name] not in flat
    assert UNMASKED.search(flat) is None
