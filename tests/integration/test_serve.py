"""`oca-sync serve`: a signed recording.completed archives that meeting once; others are ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from oca_sync.demo import sandboxes
from oca_sync.drive.archive import Archiver
from oca_sync.serve import webhook_app
from oca_sync.zoom.webhooks import BackgroundServer

from .test_archive import held

SECRET = "webhook-secret-for-tests"


def post(url: str, event: dict) -> requests.Response:
    body = json.dumps(event).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return requests.post(url + "/zoom/webhook", data=body, timeout=5, headers={
        "content-type": "application/json", "x-zm-request-timestamp": ts, "x-zm-signature": sig})


def wait_idle(url: str, processed: int) -> dict:
    deadline = time.time() + 30
    while time.time() < deadline:
        health = requests.get(url + "/healthz", timeout=5).json()
        if health["processed"] + health["failed"] >= processed and health["queued"] == 0:
            return health
        time.sleep(0.05)
    raise AssertionError("the webhook queue did not drain")


def test_recording_completed_archives_that_instance_once(oca, store):
    with sandboxes(oca) as sb:
        zoom = held(sb, oca)
        archiver = Archiver(oca, sb.drive_client(), store, zoom=zoom)
        app = webhook_app(archiver, store, SECRET)
        meeting_id = next(iter(sb.zoom.meetings))
        [instance] = sb.zoom.instances(meeting_id)
        event = {"event": "recording.completed", "event_ts": int(time.time() * 1000), "download_token": "dl-token",
                 "payload": {"account_id": "sandbox", "object": {"id": meeting_id, "uuid": instance.uuid}}}
        with BackgroundServer(app) as server:
            started = time.time()
            assert post(server.url, event).status_code == 200
            assert time.time() - started < 3, "Zoom wants an answer within 3 seconds"
            health = wait_idle(server.url, 1)
            assert health["failed"] == 0
            files = [f for f in sb.drive.all_files() if not f["mimeType"].endswith("folder")]
            assert len(files) == 4  # video, audio, transcript, chat of that instance
            event["event_ts"] += 1
            assert post(server.url, event).json()["status"] == "duplicate"
            other = {**event, "payload": {"object": {"id": 12345678901, "uuid": "not-ours=="}}}
            assert post(server.url, other).status_code == 200
            wait_idle(server.url, 2)
            assert len([f for f in sb.drive.all_files() if not f["mimeType"].endswith("folder")]) == 4


def test_serve_logs_in_one_format(oca, tmp_path):
    import os
    import re
    import signal
    import socket
    import subprocess
    import sys

    from .conftest import OCA_SPEC

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sandboxes(oca) as sb:
        z, d = sb.zoom.credentials(), sb.drive.credentials()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
        env.update(OCA_ZOOM_ACCOUNT_ID=z["account_id"], OCA_ZOOM_CLIENT_ID=z["client_id"],
                   OCA_ZOOM_CLIENT_SECRET=z["client_secret"], OCA_ZOOM_API_URL=z["api_base"],
                   OCA_ZOOM_OAUTH_URL=z["oauth_url"], OCA_ZOOM_WEBHOOK_SECRET=SECRET,
                   OCA_DRIVE_API_URL=d["root_url"], OCA_DRIVE_TOKEN=d["token"],
                   OCA_DRIVE_SHARED_DRIVE_ID=d["shared_drive_id"], OCA_STATE_URL=f"sqlite:///{tmp_path}/s.sqlite",
                   COLUMNS="200", HOME=str(tmp_path))
        proc = subprocess.Popen([sys.executable, "-m", "oca_sync.cli", "serve", str(OCA_SPEC), "--port", str(port)],
                                env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                    break
                except requests.ConnectionError:
                    assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    assert "GET /healthz" in err, err
    assert not re.search(r"^INFO: ", err, re.M), "uvicorn's own format leaked through"
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", err, re.M), err
