"""Recordings and materials to Drive, against the Zoom and Drive emulators over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from oca_sync.demo import sandboxes
from oca_sync.drive.archive import Archiver, NoProgress
from oca_sync.state import StateStore
from oca_sync.zoom.meetings import apply_zoom, desired_meetings, observe_meetings, plan_zoom

from .conftest import OCA_SPEC

CHUNK = 8 * 1024 * 1024


def held(sb, loaded):
    """Create the meetings, then move Zoom's clock past the programme: every session took place."""
    zoom = sb.zoom_client()
    sb.zoom.recording_sizes["MP4_per_minute"] = 400_000  # 36 MB for 90 minutes: several 8 MiB chunks
    desired = desired_meetings(loaded)
    apply_zoom(zoom, plan_zoom(desired, observe_meetings(zoom, desired)))
    sb.zoom.set_time(dt.datetime(2022, 5, 10, tzinfo=dt.timezone.utc))
    return zoom


@pytest.fixture
def sb(oca):
    with sandboxes(oca) as s:
        yield s


def archiver(sb, loaded, store, zoom, **kw):
    return Archiver(loaded, sb.drive_client(), store, zoom=zoom, **kw)


def zoom_md5(sb, meeting_files, file_id) -> tuple[str, int]:
    f = next(f for f in meeting_files if str(f.id) == file_id)
    data = f.content()
    return hashlib.md5(data).hexdigest(), len(data)


def test_full_archive_keeps_training_and_mentoring_apart(sb, oca, store):
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom)
    targets = a.recording_targets()
    assert {t.kind_folder for t in targets} == {"Training", "Mentoring", "Events"}
    report = a.archive_recordings(targets)
    assert report.count("archived") == len(targets) > 0 and report.count("failed") == 0
    a.share()
    files = [f for f in sb.drive.all_files() if not f["mimeType"].endswith("folder") and not f.get("trashed")]
    assert len(files) == len(targets)
    folders = {f["id"]: f for f in sb.drive.all_files() if f["mimeType"].endswith("folder")}

    def path(f):
        names = []
        while f.get("parents") and f["parents"][0] in folders:
            f = folders[f["parents"][0]]
            names.append(f["name"])
        return list(reversed(names))

    first = next(f for f in files if "Building an online community" in f["name"] and f["name"].endswith(".mp4"))
    assert path(first) == ["OCA Kyrgyzstan 2022", "Training", "01 2022-01-17 Building an online community"]
    mentoring = [f for f in files if path(f)[1] == "Mentoring"]
    assert mentoring and all("Mentoring session" in f["name"] for f in mentoring)
    # verified: Drive's MD5 is the MD5 of Zoom's bytes
    all_zoom = [f for m in sb.zoom.meetings for f in sb.zoom.recording_files(m)]
    for f in files[:6]:
        md5, size = zoom_md5(sb, all_zoom, f["appProperties"]["ocaSource"])
        assert f["md5Checksum"] == md5 and int(f["size"]) == size and f["appProperties"]["ocaVerified"] == "1"
    root = next(f for f in folders.values() if f["name"] == "OCA Kyrgyzstan 2022")
    perms = sb.drive_client().list_permissions(root["id"])
    assert any(p.get("emailAddress") == "archive@unesco.example.org" and p["role"] == "reader" for p in perms)


def test_rerun_uploads_nothing_even_without_local_state(sb, oca, tmp_path):
    zoom = held(sb, oca)
    first = archiver(sb, oca, StateStore(f"sqlite:///{tmp_path}/a.sqlite"), zoom)
    first.archive_recordings(first.recording_targets())
    sent = sb.drive.chunk_bytes()
    again = archiver(sb, oca, StateStore(f"sqlite:///{tmp_path}/b.sqlite"), zoom)
    report = again.archive_recordings(again.recording_targets())
    assert report.count("archived") == 0 and report.count("skipped") == len(report.rows)
    assert sb.drive.chunk_bytes() == sent


def test_corruption_is_detected_and_not_marked_done(sb, oca, store):
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom, trash_in_zoom=True)
    targets = [t for t in a.recording_targets() if t.name.endswith(".mp4")][:2]
    sb.drive.corrupt_byte(count=1)
    report = a.archive_recordings(targets)
    assert [r.status for r in report.rows] == ["failed", "archived"]
    assert "MD5" in report.rows[0].detail
    bad = sb.drive.find(ocaSource=targets[0].zoom_file_id)
    assert all(f.get("trashed") for f in bad), "a corrupt copy must not stay as if archived"
    # trash in Zoom only after verify: the failed one is still in Zoom, the verified one is in Zoom's trash
    zoom_files = {str(f.id): f for m in sb.zoom.meetings for f in sb.zoom.recording_files(m)}
    assert zoom_files[targets[0].zoom_file_id].deleted is None
    assert zoom_files[targets[1].zoom_file_id].deleted == "trash"
    assert store.archived_entry(targets[0].zoom_file_id) is None
    report = a.archive_recordings(targets[:1])
    assert report.rows[0].status == "archived"


def test_zoom_token_expiry_mid_download(sb, oca, store):
    zoom = held(sb, oca)

    class Expire(NoProgress):
        done = False

        def bytes_at(self, position: int) -> None:
            if position and not self.done:
                self.done = True
                sb.zoom.expire_tokens()

    a = archiver(sb, oca, store, zoom, progress=Expire())
    targets = [t for t in a.recording_targets() if t.size > 2 * CHUNK][:1]
    assert targets, "the emulator's recordings are big enough for several chunks"
    report = a.archive_recordings(targets)
    assert report.rows[0].status == "archived"
    assert zoom.stats.token_requests >= 2


def test_archive_finishes_through_a_link_that_breaks_every_300000_bytes(sb, oca, store):
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom)
    targets = [t for t in a.recording_targets() if t.size > 2 * CHUNK][:1]
    sb.zoom.cut_downloads(after_bytes=300_000, count=10_000)
    report = a.archive_recordings(targets)
    assert report.rows[0].status == "archived", report.rows[0].detail
    copy = sb.drive.find(ocaSource=targets[0].zoom_file_id)[0]
    md5, size = zoom_md5(sb, [f for m in sb.zoom.meetings for f in sb.zoom.recording_files(m)],
                         targets[0].zoom_file_id)
    assert copy["md5Checksum"] == md5 and int(copy["size"]) == size
    # every byte was fetched once: one request per 300,000 bytes, none from byte 0 again
    ranges = [p["range"] for name, p in sb.zoom.calls if name == "GET /rec/download/{fileId}"]
    assert len(ranges) == -(-size // 300_000) and ranges.count(None) == 1


def test_materials_go_in_their_original_format_once(sb, oca, store):
    a = Archiver(oca, sb.drive_client(), store)
    report = a.archive_materials()
    assert report.count("archived") == 3
    canvas = next(f for f in sb.drive.all_files() if f["name"] == "community-canvas.md")
    assert sb.drive.content(canvas["id"]) == (OCA_SPEC.parent / "materials" / "community-canvas.md").read_bytes()
    assert a.archive_materials().count("skipped") == 3


def test_killed_mid_upload_resumes_without_resending_much(oca, tmp_path):
    with sandboxes(oca) as sb:
        zoom = held(sb, oca)
        a = archiver(sb, oca, StateStore(f"sqlite:///{tmp_path}/probe.sqlite"), zoom)
        big = max(a.recording_targets(), key=lambda t: t.size)
        assert big.size > 3 * CHUNK
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
        env.update(sb.env(), OCA_STATE_URL=f"sqlite:///{tmp_path}/s.sqlite", XDG_CONFIG_HOME=str(tmp_path))
        sb.drive.faults.add("*", "slow", count=0, delay=0.2)  # every Drive request is slow
        cli = [sys.executable, "-m", "oca_sync.cli", "recordings", "archive", "--types", "MP4", str(OCA_SPEC)]
        proc = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while sb.drive.chunk_bytes() < 2 * CHUNK and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        sb.drive.faults.clear()
        before = sb.drive.chunk_bytes()
        assert before >= 2 * CHUNK
        done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        mp4 = [f for f in sb.drive.all_files() if f["name"].endswith(".mp4") and not f.get("trashed")]
        total = sum(int(f["size"]) for f in mp4)
        resent = sb.drive.chunk_bytes() - total
        assert resent < 2 * CHUNK, f"{resent} bytes sent twice"
        keys = [f["appProperties"]["ocaSource"] for f in mp4]
        assert len(keys) == len(set(keys))


def test_cli_prints_drive_links_whole_on_a_narrow_screen(tmp_path):
    from click.testing import CliRunner

    from oca_sync.cli import cli
    from oca_sync.sandbox.drive import DriveSandbox

    with DriveSandbox() as drive:
        env = {k: None for k in os.environ if k.startswith("OCA_")}
        env.update(OCA_DRIVE_API_URL=drive.root_url, OCA_DRIVE_TOKEN=drive.token,
                   OCA_DRIVE_SHARED_DRIVE_ID=drive.shared_drive_id, OCA_STATE_URL=f"sqlite:///{tmp_path}/s.sqlite",
                   COLUMNS="70")
        result = CliRunner().invoke(cli, ["materials", "archive", str(OCA_SPEC)], env=env)
    assert result.exit_code == 0, result.output
    links = [line for line in result.output.splitlines() if line.startswith("[") and "://" in line]
    assert links and all(line.split(" ", 1)[1].startswith("http") and " " not in line.split(" ", 1)[1]
                         for line in links)
    assert len(links) == result.output.count("below")
    assert max(len(line) for line in links) > 70, "longer than the screen, still on one line"


def test_small_files_go_in_one_request_each_several_at_once(sb, oca, store):
    """Files up to SMALL_FILE: one multipart request each (no session to keep), four at a time; each
    session folder is still made once, and the rows keep the targets' order."""
    from oca_sync.drive.archive import SMALL_FILE

    zoom = held(sb, oca)
    for mid in sb.zoom.meetings:
        sb.zoom.set_recording_sizes(mid, {"MP4_bytes": 300_000, "M4A_bytes": 50_000})
    sb.drive.faults.add("*", "slow", count=0, delay=0.01)  # requests overlap
    a = archiver(sb, oca, store, zoom, workers=4)
    targets = a.recording_targets()
    assert len(targets) > 8 and all(t.size <= SMALL_FILE for t in targets)
    sb.drive.calls.clear()
    sb.drive.corrupt_byte(count=1)  # one copy differs from what Zoom sent
    report = a.archive_recordings(targets)
    assert [r.name for r in report.rows] == [t.name for t in targets]
    assert report.count("archived") == len(targets) - 1
    [bad] = [r for r in report.rows if r.status == "failed"]
    assert "MD5" in bad.detail
    names = sb.drive.calls.names()
    assert names.count("POST /upload/drive/v3/files (multipart)") == len(targets)
    # verified by the MD5 written with it (ocaMd5), which any listing checks: no second call to mark it;
    # the one update is the corrupt copy going to the trash
    assert names.count("PATCH /drive/v3/files/{fileId}") == 1
    assert names.count("POST /upload/drive/v3/files (resumable)") == 0 and store.upload_session(
        targets[0].zoom_file_id) is None
    folders = [(f["name"], tuple(f["parents"])) for f in sb.drive.all_files() if f["mimeType"].endswith("folder")]
    assert len(folders) == len(set(folders)), "a folder was made twice"
    all_zoom = [f for m in sb.zoom.meetings for f in sb.zoom.recording_files(m)]
    for f in sb.drive.all_files():
        if not f["mimeType"].endswith("folder"):
            md5, size = zoom_md5(sb, all_zoom, f["appProperties"]["ocaSource"])
            assert (f["md5Checksum"] == md5 and f["appProperties"]["ocaVerified"] == "1") or f["trashed"]
    again = a.archive_recordings(targets)
    assert again.count("skipped") == len(targets) - 1 and again.count("archived") == 1


def test_a_small_file_left_in_a_resumable_upload_is_resumed_and_the_leftovers_read_once(sb, oca, store):
    """A small file whose resumable upload an earlier run left unfinished goes on in that session (not a
    second copy by multipart); which uploads were left is read from the store once per run, not per file."""
    from oca_sync.drive.archive import PROGRAMME, SOURCE, VERIFIED, recording_source
    from oca_sync.sandbox.drive import OP_CHUNK

    zoom = held(sb, oca)
    for mid in sb.zoom.meetings:
        sb.zoom.set_recording_sizes(mid, {"MP4_bytes": 300_000, "M4A_bytes": 50_000})
    a = archiver(sb, oca, store, zoom)
    targets = a.recording_targets()[:3]
    left = targets[1]
    folder = a.session_folder_id(left.kind_folder, left.course or a.course_of[left.key], a.sessions[left.key])
    uri = sb.drive_client().start_resumable(left.name, folder, left.mime_type, left.size, {
        SOURCE: recording_source(left.zoom_file_id), VERIFIED: "0", PROGRAMME: oca.spec.programme.key})
    store.save_upload_session(left.zoom_file_id, uri, left.size)
    reads = []
    keys = store.upload_session_keys
    store.upload_session_keys = lambda: reads.append(1) or keys()  # type: ignore[method-assign]
    sb.drive.calls.clear()
    report = a.archive_recordings(targets)
    assert [r.status for r in report.rows] == ["archived"] * 3
    names = sb.drive.calls.names()
    assert names.count("POST /upload/drive/v3/files (multipart)") == 2
    assert names.count("POST /upload/drive/v3/files (resumable)") == 0 and names.count(OP_CHUNK) == 1
    assert store.upload_session(left.zoom_file_id) is None and reads == [1]
    [copy] = sb.drive.find(ocaSource=left.zoom_file_id)
    assert copy["appProperties"][VERIFIED] == "1" and int(copy["size"]) == left.size


def test_bytes_drive_did_not_keep_are_read_from_zoom_again_and_the_copy_verified_by_reading_it(sb, oca, store):
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom)
    [big] = [t for t in a.recording_targets() if t.size > 3 * CHUNK][:1]
    sb.drive.partial_chunk(CHUNK // 2)  # the first chunk: Drive keeps half of it (308 with a shorter Range)
    sb.zoom.calls.clear()
    report = a.archive_recordings([big])
    assert report.rows[0].status == "archived", report.rows[0].detail
    copy = sb.drive.find(ocaSource=big.zoom_file_id)[0]
    md5, size = zoom_md5(sb, [f for m in sb.zoom.meetings for f in sb.zoom.recording_files(m)], big.zoom_file_id)
    assert copy["md5Checksum"] == md5 and copy["appProperties"]["ocaVerified"] == "1"
    ranges = [p["range"] for name, p in sb.zoom.calls if name == "GET /rec/download/{fileId}"]
    # the stream, the second half of the first chunk again, then the whole file once more to verify
    assert ranges == [None, f"bytes={CHUNK // 2}-", None]


def test_a_small_copy_whose_stored_content_changed_is_replaced(sb, oca, store):
    """A copy uploaded in one request is verified by Drive's MD5 of what it stores against the ocaMd5
    written with it: if that copy's content changes in Drive (a new revision by someone), it no longer
    counts as archived, and the next run replaces it."""
    zoom = held(sb, oca)
    for mid in sb.zoom.meetings:
        sb.zoom.set_recording_sizes(mid, {"MP4_bytes": 300_000, "M4A_bytes": 50_000})
    a = archiver(sb, oca, store, zoom)
    targets = a.recording_targets()[:2]
    assert a.archive_recordings(targets).count("archived") == 2
    [copy] = sb.drive.find(ocaSource=targets[0].zoom_file_id)
    assert copy["appProperties"]["ocaMd5"] == copy["md5Checksum"]
    sb.drive.files[copy["id"]].md5 = hashlib.md5(b"another revision").hexdigest()
    again = archiver(sb, oca, store, zoom).archive_recordings(targets)
    assert [r.status for r in again.rows] == ["archived", "skipped"]
    [new] = sb.drive.find(ocaSource=targets[0].zoom_file_id)
    assert new["id"] != copy["id"] and next(f for f in sb.drive.all_files() if f["id"] == copy["id"])["trashed"]


def test_a_material_copy_that_failed_its_check_is_never_unchanged(sb, oca, store):
    a = Archiver(oca, sb.drive_client(), store)
    sb.drive.corrupt_byte(count=1)  # the first material's upload stores a flipped byte
    first = a.archive_materials()
    [failed] = [r for r in first.rows if r.status == "failed"]
    assert "MD5" in failed.detail
    assert all(f["trashed"] for f in sb.drive.all_files() if f["name"] == failed.name), "the bad copy stays"
    second = Archiver(oca, sb.drive_client(), store).archive_materials()
    assert second.count("archived") == 1 and second.count("skipped") == first.count("archived")
    # a copy whose stored content no longer matches (changed in Drive) is replaced, not "unchanged"
    victim = next(f for f in sb.drive.all_files() if f["name"] == "community-canvas.md" and not f["trashed"])
    sb.drive.files[victim["id"]].md5 = hashlib.md5(b"edited in Drive").hexdigest()
    third = Archiver(oca, sb.drive_client(), store).archive_materials()
    assert third.count("archived") == 1
    assert next(f for f in sb.drive.all_files() if f["id"] == victim["id"])["trashed"]


def test_recordings_are_listed_per_host_not_per_meeting(sb, oca, store):
    """Finding what to archive costs one listing per host and month, not two calls per meeting; a host
    Zoom answers 404 for is asked meeting by meeting, with the same result."""
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom)
    sb.zoom.calls.clear()
    targets = a.recording_targets()
    names = sb.zoom.calls.names()
    assert names.count("GET /past_meetings/{meetingId}/instances") == 0
    assert names.count("GET /meetings/{meetingId}/recordings") == 0
    hosts = {s.host for ss in oca.sessions.values() for s in ss}
    assert 0 < names.count("GET /users/{userId}/recordings") <= 6 * len(hosts)  # a few months each
    meetings = {t.meeting_uuid for t in targets}
    assert len(targets) > 2 * len(hosts) and len(meetings) > len(hosts)
    sb.zoom.faults.add("GET /users/{userId}/recordings", "status", count=0, status=404,
                       body='{"code": 1001, "message": "User does not exist: x."}',
                       content_type="application/json;charset=UTF-8")
    sb.zoom.calls.clear()
    again = a.recording_targets()
    assert sorted((t.zoom_file_id, t.name, t.size) for t in again) == sorted(
        (t.zoom_file_id, t.name, t.size) for t in targets)
    assert sb.zoom.calls.names().count("GET /past_meetings/{meetingId}/instances") > 0


def test_session_folders_are_looked_up_in_a_few_batched_queries(sb, oca, store):
    """Each new session folder was two lookups (its key, its old key) before its create: now all of them
    are asked in queries of twenty keys, so listings do not grow with sessions."""
    zoom = held(sb, oca)
    a = archiver(sb, oca, store, zoom)
    targets = a.recording_targets()
    sb.drive.calls.clear()
    report = a.archive_recordings(targets)
    folders = [f for f in sb.drive.all_files() if f["mimeType"].endswith("folder")]
    sessions = {(t.kind_folder, t.key) for t in targets}
    names = sb.drive.calls.names()
    assert report.count("archived") == len(targets) and len(sessions) > 10
    assert names.count("POST /drive/v3/files") == len(folders)  # every folder made once, the root too
    assert len({(f["name"], tuple(f["parents"])) for f in folders}) == len(folders)
    lookups = names.count("GET /drive/v3/files")
    # the batches (two keys a session, twenty a query), the root and kind folders (a key and an old key
    # each) and the index of copies; one lookup per session or more before
    assert lookups <= -(-2 * len(sessions) // 20) + 9 < len(sessions), (lookups, len(sessions))
