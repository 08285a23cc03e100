"""DriveClient against the Drive emulator over real HTTP: folders, listings, uploads, faults, sharing.

The client's sleeps are recorded instead of waited, so retries cost no time.
Chunks are 256 KiB (the smallest Drive accepts) to keep the files small.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from oca_sync.drive import (
    CHUNK_MULTIPLE,
    FOLDER_MIME,
    MULTIPART_MAX,
    DriveAuthError,
    DriveChecksumMismatch,
    DriveClient,
    DriveError,
    DriveNotFound,
    DriveRateLimited,
    DriveServerError,
    DriveUploadExpired,
    StreamReader,
    file_reader,
    quote_q,
)
from oca_sync.errors import WriteOutcomeUnknown
from oca_sync.sandbox.drive import OP_CHUNK, OP_STATUS, DriveSandbox

CHUNK = CHUNK_MULTIPLE  # 256 KiB
KEY = "ocaKey"


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sandbox() -> Iterator[DriveSandbox]:
    with DriveSandbox() as sb:
        yield sb


@pytest.fixture
def waits() -> Waits:
    return Waits()


def make(sb: DriveSandbox, waits: Waits | None = None, **kw: Any) -> DriveClient:
    kw.setdefault("shared_drive_id", sb.shared_drive_id)
    kw.setdefault("chunk_size", CHUNK)
    kw.setdefault("timeout", 10)
    return DriveClient.for_sandbox(sb.root_url, sb.token, sleep=waits if waits is not None else Waits(),
                                   jitter=lambda: 0.5, **kw)


@pytest.fixture
def drive(sandbox: DriveSandbox, waits: Waits) -> DriveClient:
    return make(sandbox, waits)


@pytest.fixture
def folder(drive: DriveClient, sandbox: DriveSandbox) -> dict[str, Any]:
    return drive.ensure_folder("Recordings", sandbox.shared_drive_id, {KEY: "oca/recordings"})


def payload(size: int, seed: int = 1) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32) + os.urandom(size % 32)


def reader(data: bytes):  # type: ignore[no-untyped-def]
    return lambda offset, length: data[offset:offset + length]


# --------------------------------------------------------------------------- #
# Folders and listings
# --------------------------------------------------------------------------- #


def test_ensure_folder_is_idempotent(drive: DriveClient, sandbox: DriveSandbox) -> None:
    first = drive.ensure_folder("Training", sandbox.shared_drive_id, {KEY: "oca/training"})
    assert first["name"] == "Training" and first["mimeType"] == FOLDER_MIME
    assert first["webViewLink"].startswith(sandbox.url + "/drive/folders/")
    assert first["parents"] == [sandbox.shared_drive_id] and first["driveId"] == sandbox.shared_drive_id
    writes = sandbox.calls.write_count()
    again = drive.ensure_folder("Training", sandbox.shared_drive_id, {KEY: "oca/training"})
    assert again["id"] == first["id"]
    assert sandbox.calls.write_count() == writes  # the second ensure only reads
    # a new client (lost local state) still finds it by its key, even if renamed by hand
    drive.update_file(first["id"], {"name": "Training (renamed)"})
    other = make(sandbox).ensure_folder("Training", sandbox.shared_drive_id, {KEY: "oca/training"})
    assert other["id"] == first["id"]
    assert len(sandbox.find(**{KEY: "oca/training"})) == 1
    # the webViewLink answers
    assert requests.get(first["webViewLink"], timeout=5).status_code == 200


def test_ensure_folder_with_quotes_and_backslashes(drive: DriveClient, sandbox: DriveSandbox) -> None:
    name = "Session 3 — O'Brien's \\ «тренинг»"
    a = drive.ensure_folder(name, sandbox.shared_drive_id, {KEY: "k'\\1"})
    b = drive.ensure_folder(name, sandbox.shared_drive_id, {KEY: "k'\\1"})
    assert a["id"] == b["id"] and a["name"] == name
    # without a key, the lookup is by (escaped) name in the parent
    c = drive.ensure_folder(name, a["id"])
    d = drive.ensure_folder(name, a["id"])
    assert c["id"] == d["id"] != a["id"]


def test_ensure_folder_answer_lost_after_create_makes_no_duplicate(drive: DriveClient, sandbox: DriveSandbox,
                                                                     waits: Waits) -> None:
    sandbox.drop("POST /drive/v3/files", after=True)  # created, but the answer never arrives
    made = drive.ensure_folder("Mentoring", sandbox.shared_drive_id, {KEY: "oca/mentoring"})
    assert len(sandbox.find(**{KEY: "oca/mentoring"})) == 1
    assert sandbox.find(**{KEY: "oca/mentoring"})[0]["id"] == made["id"]
    assert sandbox.calls.count("POST /drive/v3/files") == 1 and len(waits) == 1
    # dropped before processing, and a 503: looked up, then sent again, once
    sandbox.drop("POST /drive/v3/files")
    sandbox.server_error("POST /drive/v3/files")
    again = drive.ensure_folder("Events", sandbox.shared_drive_id, {KEY: "oca/events"})
    assert [f["id"] for f in sandbox.find(**{KEY: "oca/events"})] == [again["id"]]


def test_create_without_key_and_lost_answer_is_not_repeated(drive: DriveClient, folder: dict[str, Any],
                                                            sandbox: DriveSandbox) -> None:
    sandbox.drop("POST /upload/drive/v3/files (multipart)", after=True)
    with pytest.raises(WriteOutcomeUnknown):
        drive.create_file("notes.txt", folder["id"], "text/plain", b"hello")
    assert sandbox.calls.count("POST /upload/drive/v3/files (multipart)") == 1


def test_find_by_app_property(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    sub = drive.ensure_folder("Other", sandbox.shared_drive_id, {KEY: "oca/other"})
    a = drive.create_file("a.txt", folder["id"], "text/plain", b"a", {KEY: "file/a", "kind": "material"})
    b = drive.create_file("b.txt", sub["id"], "text/plain", b"b", {KEY: "file/b", "kind": "material"})
    assert [f["id"] for f in drive.find_by_app_property(KEY, "file/a")] == [a["id"]]
    both = drive.find_by_app_property("kind", "material")
    assert {f["id"] for f in both} == {a["id"], b["id"]}
    assert [f["id"] for f in drive.find_by_app_property("kind", "material", parent_id=sub["id"])] == [b["id"]]
    assert drive.find_by_app_property("kind", "material", mime_type=FOLDER_MIME) == []
    assert [f["id"] for f in drive.find_by_app_property(KEY, "oca/other", mime_type=FOLDER_MIME)] == [sub["id"]]
    drive.trash_file(a["id"])
    assert drive.find_by_app_property(KEY, "file/a") == []
    assert drive.get_file(a["id"])["trashed"] is True
    got = drive.find_files(f"name = {quote_q('a.txt')}")  # no trashed clause: trashed files match, as in Drive
    assert [f["id"] for f in got] == [a["id"]]


def test_listing_pages_through_next_page_token(drive: DriveClient, folder: dict[str, Any],
                                               sandbox: DriveSandbox) -> None:
    made = [drive.create_file(f"f{i}.txt", folder["id"], "text/plain", b"x", {KEY: f"p/{i}", "batch": "1"})["id"]
            for i in range(7)]
    sandbox.calls.clear()
    found = drive.find_files("appProperties has { key='batch' and value='1' }", "id, name", page_size=3)
    assert [f["id"] for f in found] == made  # createdTime order
    listings = [p for name, p in sandbox.calls.snapshot() if name == "GET /drive/v3/files"]
    assert len(listings) == 3 and all(p.get("corpora") == "drive" for p in listings)
    assert "pageToken" not in listings[0] and "pageToken" in listings[1]


def test_long_queries_use_the_method_override(drive: DriveClient, folder: dict[str, Any]) -> None:
    # googleapiclient turns a GET longer than 2048 characters into POST + X-HTTP-Method-Override.
    long_name = "x" * 2100
    assert drive.find_files(f"name = {quote_q(long_name)}") == []


def test_client_without_shared_drive_id_sees_shared_drive_items(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    plain = make(sandbox, shared_drive_id=None)
    assert [f["id"] for f in plain.find_by_app_property(KEY, "oca/recordings")] == [folder["id"]]


def test_update_file_merges_app_properties(drive: DriveClient, folder: dict[str, Any]) -> None:
    f = drive.create_file("a.txt", folder["id"], "text/plain", b"a", {KEY: "a", "state": "uploaded"})
    out = drive.update_file(f["id"], {"appProperties": {"state": "verified", "zoomDeleted": "no"}})
    assert out["appProperties"] == {KEY: "a", "state": "verified", "zoomDeleted": "no"}
    out = drive.update_file(f["id"], {"appProperties": {"zoomDeleted": None}})
    assert out["appProperties"] == {KEY: "a", "state": "verified"}
    with pytest.raises(ValueError):
        drive.update_file(f["id"], {"appProperties": {"k": "v" * 200}})


# --------------------------------------------------------------------------- #
# Uploads
# --------------------------------------------------------------------------- #


def test_multipart_create(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = b"line one\r\nline two\n\x00\xff" * 100 + b"\r\n--"
    f = drive.create_file("Slides «1».pdf", folder["id"], "application/pdf", data, {KEY: "mat/1"})
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(len(data)) and f["mimeType"] == "application/pdf"
    assert f["appProperties"] == {KEY: "mat/1"} and f["parents"] == [folder["id"]]
    assert sandbox.content(f["id"]) == data
    with pytest.raises(ValueError, match="resumable"):
        drive.create_file("big.bin", folder["id"], "application/octet-stream", b"\0" * (MULTIPART_MAX + 1))


def test_resumable_upload_in_several_chunks(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = payload(5 * CHUNK + 12345)
    uri = drive.start_resumable("GMT20220117-080000_Recording.mp4", folder["id"], "video/mp4", len(data),
                                {KEY: "rec/1", "meeting": "85746065123"})
    assert "upload_id=" in uri and sandbox.all_files() == [sandbox.file(folder["id"])]  # no file yet
    progress: list[int] = []
    f = drive.upload_chunks(uri, reader(data), size=len(data), on_progress=lambda done, total: progress.append(done))
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert f["size"] == str(len(data)) and f["name"] == "GMT20220117-080000_Recording.mp4"
    assert f["appProperties"] == {KEY: "rec/1", "meeting": "85746065123"} and f["webViewLink"]
    assert progress == [CHUNK * i for i in range(1, 6)] + [len(data)]
    assert sandbox.calls.count(OP_CHUNK) == 6 and sandbox.chunk_bytes() == len(data)
    assert sandbox.content(f["id"]) == data
    assert drive.stats.bytes_resent == 0


def test_upload_from_a_file_and_a_stream(drive: DriveClient, folder: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = payload(3 * CHUNK + 1, seed=2)
    path = tmp_path / "rec.m4a"
    path.write_bytes(data)
    sessions: list[str] = []
    with file_reader(path) as read_at:
        f = drive.upload(read_at, len(data), "rec.m4a", folder["id"], "audio/mp4", {KEY: "rec/a"},
                         on_session=sessions.append)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest() and len(sessions) == 1
    stream = StreamReader(data[i:i + 10000] for i in range(0, len(data), 10000))
    g = drive.upload(stream, len(data), "rec2.m4a", folder["id"], "audio/mp4", {KEY: "rec/b"})
    assert g["md5Checksum"] == f["md5Checksum"]


def test_empty_file_upload(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    uri = drive.start_resumable("empty.txt", folder["id"], "text/plain", 0, {KEY: "empty"})
    f = drive.upload_chunks(uri, reader(b""), size=0)
    assert f["size"] == "0" and f["md5Checksum"] == hashlib.md5(b"").hexdigest()


def test_308_and_range_semantics_on_the_wire(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    """The resumable protocol, spoken by hand (requests), as Drive's upload guide describes it."""
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    size = 2 * CHUNK + 10
    data = payload(size, seed=3)
    start = requests.post(
        f"{sandbox.url}/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=id,size,md5Checksum",
        json={"name": "x.bin", "parents": [folder["id"]]},
        headers={**auth, "X-Upload-Content-Type": "application/octet-stream", "X-Upload-Content-Length": str(size)},
        timeout=5)
    assert start.status_code == 200 and start.content == b""
    uri = start.headers["Location"]

    def put(body: bytes, crange: str) -> requests.Response:
        return requests.put(uri, data=body, headers={"Content-Range": crange}, timeout=5)

    fresh = put(b"", f"bytes */{size}")
    assert fresh.status_code == 308 and "Range" not in fresh.headers  # nothing received yet
    first = put(data[:CHUNK], f"bytes 0-{CHUNK - 1}/{size}")
    assert first.status_code == 308 and first.headers["Range"] == f"bytes=0-{CHUNK - 1}"
    assert put(b"", f"bytes */{size}").headers["Range"] == f"bytes=0-{CHUNK - 1}"
    # a non-final chunk must be a multiple of 256 KiB
    odd = put(data[CHUNK:CHUNK + 1000], f"bytes {CHUNK}-{CHUNK + 999}/{size}")
    assert odd.status_code == 400 and odd.json()["error"]["errors"][0]["reason"] == "badRequest"
    # a gap is refused; bytes the server already has are skipped
    assert put(data[2 * CHUNK:], f"bytes {2 * CHUNK}-{size - 1}/{size}").status_code == 400
    overlap = put(data[:2 * CHUNK], f"bytes 0-{2 * CHUNK - 1}/{size}")
    assert overlap.status_code == 308 and overlap.headers["Range"] == f"bytes=0-{2 * CHUNK - 1}"
    done = put(data[2 * CHUNK:], f"bytes {2 * CHUNK}-{size - 1}/{size}")
    assert done.status_code == 200
    body = done.json()
    assert body == {"id": body["id"], "size": str(size), "md5Checksum": hashlib.md5(data).hexdigest()}
    again = put(b"", f"bytes */{size}")  # the status of a finished session is the file
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    # the client reads the same answers
    drive = make(sandbox)
    assert drive.upload_status(uri, size)["id"] == body["id"]  # type: ignore[index]


def test_interrupted_upload_resumes_from_the_reported_offset(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    data = payload(8 * CHUNK + 777, seed=4)

    class Crash(Exception):
        pass

    def crashing(offset: int, length: int) -> bytes:
        if offset >= 3 * CHUNK:
            raise Crash  # the process dies while reading the 4th chunk
        return data[offset:offset + length]

    first = make(sandbox)
    uri = first.start_resumable("long.mp4", folder["id"], "video/mp4", len(data), {KEY: "rec/long"})
    with pytest.raises(Crash):
        first.upload_chunks(uri, crashing, size=len(data))
    assert sandbox.session_state(uri)["received"] == 3 * CHUNK

    second = make(sandbox)  # another process: only the session URI was persisted
    offset = second.upload_status(uri, len(data))
    assert offset == 3 * CHUNK
    f = second.upload_chunks(uri, reader(data), size=len(data), offset=offset)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest() and sandbox.content(f["id"]) == data
    assert second.stats.bytes_sent == len(data) - offset  # nothing re-sent
    assert sandbox.chunk_bytes() - len(data) < 2 * CHUNK


def test_transfer_cut_mid_chunk(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                waits: Waits) -> None:
    data = payload(6 * CHUNK + 5, seed=5)
    uri = drive.start_resumable("cut.mp4", folder["id"], "video/mp4", len(data), {KEY: "rec/cut"})
    sandbox.calls.clear()
    # chunk 3 (of 2 chunks' size) arrives half, then the connection dies
    sandbox.partial_chunk(CHUNK, drop=True)
    f = drive.upload_chunks(uri, reader(data), size=len(data), chunk_size=2 * CHUNK)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert sandbox.calls.count(OP_STATUS) == 1 and len(waits) == 1
    assert drive.stats.bytes_sent - len(data) == CHUNK  # only the lost half went again
    assert drive.stats.bytes_resent < 2 * CHUNK


def test_server_keeps_fewer_bytes_than_sent(drive: DriveClient, folder: dict[str, Any],
                                            sandbox: DriveSandbox) -> None:
    data = payload(4 * CHUNK, seed=6)
    uri = drive.start_resumable("short.bin", folder["id"], "application/octet-stream", len(data), {KEY: "short"})
    sandbox.partial_chunk(CHUNK, count=2)  # 308 with a shorter Range, twice
    f = drive.upload_chunks(uri, reader(data), size=len(data), chunk_size=2 * CHUNK)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    ranges = [p["range"] for name, p in sandbox.calls.snapshot() if name == OP_CHUNK]
    assert ranges == [f"bytes 0-{2 * CHUNK - 1}/{4 * CHUNK}", f"bytes {CHUNK}-{3 * CHUNK - 1}/{4 * CHUNK}",
                      f"bytes {2 * CHUNK}-{4 * CHUNK - 1}/{4 * CHUNK}"]


@pytest.mark.parametrize("after", [False, True])
def test_dropped_chunk_connection(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                  after: bool) -> None:
    data = payload(4 * CHUNK + 3, seed=7)
    uri = drive.start_resumable("drop.bin", folder["id"], "application/octet-stream", len(data), {KEY: "drop"})
    sandbox.calls.clear()
    sandbox.drop(OP_CHUNK, after=after)
    f = drive.upload_chunks(uri, reader(data), size=len(data))
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert sandbox.calls.count(OP_STATUS) == 1
    # stored but unanswered: not sent again; dropped before storing: that one chunk again
    assert drive.stats.bytes_sent - len(data) == (0 if after else CHUNK)


def test_lost_final_answer(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = payload(2 * CHUNK + 9, seed=8)
    uri = drive.start_resumable("last.bin", folder["id"], "application/octet-stream", len(data), {KEY: "last"})

    class Stop(Exception):
        pass

    def until_last(offset: int, length: int) -> bytes:
        if offset >= 2 * CHUNK:
            raise Stop
        return data[offset:offset + length]

    with pytest.raises(Stop):
        drive.upload_chunks(uri, until_last, size=len(data))
    sandbox.drop(OP_CHUNK, after=True)  # the file is made, the 200 never arrives
    sandbox.calls.clear()
    f = drive.upload_chunks(uri, reader(data), size=len(data), offset=2 * CHUNK, md5=hashlib.md5(data).hexdigest())
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert sandbox.calls.count(OP_CHUNK) == 1 and sandbox.calls.count(OP_STATUS) == 1
    assert len(sandbox.find(**{KEY: "last"})) == 1


def test_5xx_and_rate_limits_during_upload(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                           waits: Waits) -> None:
    data = payload(3 * CHUNK + 1, seed=9)
    sandbox.server_error("POST /upload/drive/v3/files (resumable)")
    uri = drive.start_resumable("r.bin", folder["id"], "application/octet-stream", len(data), {KEY: "r"})
    sandbox.server_error(OP_CHUNK, status=500)
    sandbox.rate_limit_403(OP_CHUNK)
    sandbox.server_error(OP_STATUS, status=502)
    f = drive.upload_chunks(uri, reader(data), size=len(data))
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert len(waits) == 4
    assert drive.stats.bytes_resent == 2 * CHUNK  # each refused chunk once more, nothing else


def test_upload_gives_up_without_progress(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = payload(CHUNK + 1, seed=10)
    uri = drive.start_resumable("g.bin", folder["id"], "application/octet-stream", len(data), {KEY: "g"})
    sandbox.server_error(OP_CHUNK, count=0)  # forever
    with pytest.raises(DriveError, match="no progress"):
        drive.upload_chunks(uri, reader(data), size=len(data))


def test_server_that_keeps_nothing_is_given_up(drive: DriveClient, folder: dict[str, Any],
                                               sandbox: DriveSandbox) -> None:
    data = payload(2 * CHUNK, seed=14)
    uri = drive.start_resumable("n.bin", folder["id"], "application/octet-stream", len(data), {KEY: "n"})
    sandbox.partial_chunk(0, count=0)  # every chunk: 308, nothing kept
    with pytest.raises(DriveError, match="no progress"):
        drive.upload_chunks(uri, reader(data), size=len(data))
    assert drive.stats.calls["drive.upload.chunk"] == drive.max_attempts


def test_corrupted_byte_is_detected(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = payload(3 * CHUNK, seed=11)
    uri = drive.start_resumable("bad.mp4", folder["id"], "video/mp4", len(data), {KEY: "bad"})
    sandbox.corrupt_byte()
    with pytest.raises(DriveChecksumMismatch) as info:
        drive.upload_chunks(uri, reader(data), size=len(data))
    err = info.value
    assert err.expected == hashlib.md5(data).hexdigest() != err.actual
    stored = sandbox.content(err.file["id"])
    assert err.actual == hashlib.md5(stored).hexdigest()
    assert sum(a != b for a, b in zip(stored, data, strict=True)) == 1
    drive.trash_file(err.file["id"])  # what the archive does before uploading again
    # a resumed upload (no local hash) is checked against a given md5
    uri2 = drive.start_resumable("bad2.mp4", folder["id"], "video/mp4", len(data), {KEY: "bad2"})
    sandbox.corrupt_byte(position=0)
    with pytest.raises(DriveChecksumMismatch):
        drive.upload_chunks(uri2, reader(data), size=len(data), md5=hashlib.md5(data).hexdigest())
    # multipart too
    sandbox.corrupt_byte()
    with pytest.raises(DriveChecksumMismatch):
        drive.create_file("m.txt", folder["id"], "text/plain", b"hello world", {KEY: "m"})


def test_expired_session_starts_over(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    data = payload(2 * CHUNK + 1, seed=12)
    uri = drive.start_resumable("e.bin", folder["id"], "application/octet-stream", len(data), {KEY: "e"})
    sandbox.expire_upload(uri)
    with pytest.raises(DriveUploadExpired):
        drive.upload_status(uri, len(data))
    with pytest.raises(DriveUploadExpired):
        drive.upload_chunks(uri, reader(data), size=len(data))
    sessions: list[str] = []
    f = drive.upload(reader(data), len(data), "e.bin", folder["id"], "application/octet-stream", {KEY: "e"},
                     session_uri=uri, on_session=sessions.append)
    assert f["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert len(sessions) == 1 and sessions[0] != uri


def test_resume_of_a_finished_session_returns_the_file(drive: DriveClient, folder: dict[str, Any]) -> None:
    data = payload(CHUNK + 3, seed=13)
    uri = drive.start_resumable("d.bin", folder["id"], "application/octet-stream", len(data), {KEY: "d"})
    f = drive.upload_chunks(uri, reader(data), size=len(data))
    again = drive.upload(reader(data), len(data), "d.bin", folder["id"], "application/octet-stream", {KEY: "d"},
                         session_uri=uri, md5=hashlib.md5(data).hexdigest())
    assert again["id"] == f["id"]


def test_service_account_my_drive_has_no_quota(drive: DriveClient) -> None:
    with pytest.raises(DriveError) as info:
        drive.create_file("x.txt", "root", "text/plain", b"x", {KEY: "x"})
    assert info.value.status == 403 and info.value.reason == "storageQuotaExceeded"
    assert "shared drive" in str(info.value)


# --------------------------------------------------------------------------- #
# Retries and errors of metadata calls
# --------------------------------------------------------------------------- #


def test_rate_limit_403_is_retried(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                   waits: Waits) -> None:
    sandbox.rate_limit_403("GET /drive/v3/files", count=2)
    assert [f["id"] for f in drive.find_by_app_property(KEY, "oca/recordings")] == [folder["id"]]
    assert len(waits) == 2 and waits[1] > waits[0]  # exponential
    sandbox.rate_limit_429("GET /drive/v3/files/{fileId}")
    assert drive.get_file(folder["id"])["id"] == folder["id"]
    assert len(waits) == 3


def test_rate_limit_gives_up(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    drive = make(sandbox, max_attempts=3, max_backoff=2.0)
    sandbox.rate_limit_403("GET /drive/v3/files/{fileId}", count=0, reason="rateLimitExceeded")
    with pytest.raises(DriveRateLimited) as info:
        drive.get_file(folder["id"])
    assert (info.value.status, info.value.reason, info.value.domain) == (403, "rateLimitExceeded", "usageLimits")
    assert drive.stats.calls["drive.files.get"] == 3


def test_5xx_is_retried(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox, waits: Waits) -> None:
    sandbox.server_error("GET /drive/v3/files/{fileId}", count=2, status=500)
    sandbox.drop("PATCH /drive/v3/files/{fileId}", after=True)
    assert drive.get_file(folder["id"])["id"] == folder["id"]
    assert drive.update_file(folder["id"], {"name": "Recordings!"})["name"] == "Recordings!"
    assert len(waits) == 3 and max(waits) <= drive.max_backoff
    sandbox.server_error("GET /drive/v3/files/{fileId}", count=0)
    with pytest.raises(DriveServerError):
        drive.get_file(folder["id"])


def test_shared_drive_root(drive: DriveClient, sandbox: DriveSandbox) -> None:
    root = drive.get_file(sandbox.shared_drive_id)
    assert root["mimeType"] == FOLDER_MIME and root["name"] == sandbox.shared_drive_name
    assert sandbox.shared_drive_id not in {f["id"] for f in drive.find_files("trashed = false")}
    assert [p["role"] for p in drive.list_permissions(sandbox.shared_drive_id)] == ["organizer"]


def test_not_found_carries_drives_reason(drive: DriveClient) -> None:
    with pytest.raises(DriveNotFound) as info:
        drive.get_file("1doesNotExist")
    err = info.value
    assert (err.status, err.reason, err.domain) == (404, "notFound", "global")
    assert err.drive_message == "File not found: 1doesNotExist."


def test_shared_drive_items_need_supports_all_drives(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    url = f"{sandbox.url}/drive/v3/files/{folder['id']}"
    assert requests.get(url, headers=auth, timeout=5).status_code == 404
    assert requests.get(url + "?supportsAllDrives=true", headers=auth, timeout=5).status_code == 200
    listing = requests.get(f"{sandbox.url}/drive/v3/files?corpora=drive&driveId={sandbox.shared_drive_id}",
                           headers=auth, timeout=5)
    assert listing.status_code == 400


def test_bearer_token_required(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    r = requests.get(f"{sandbox.url}/drive/v3/files", timeout=5)
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    err = r.json()["error"]
    assert err["code"] == 401 and err["errors"][0]["reason"] == "authError"
    wrong = DriveClient.for_sandbox(sandbox.root_url, "not-the-token", shared_drive_id=sandbox.shared_drive_id)
    with pytest.raises(DriveAuthError):
        wrong.get_file(folder["id"])


def test_fields_are_checked_like_drive(sandbox: DriveSandbox, folder: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    base = f"{sandbox.url}/drive/v3/files/{folder['id']}?supportsAllDrives=true"
    assert requests.get(base, headers=auth, timeout=5).json() == {
        "kind": "drive#file", "id": folder["id"], "name": "Recordings", "mimeType": FOLDER_MIME}
    bad = requests.get(base + "&fields=id,nmae", headers=auth, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["reason"] == "invalidParameter"


# --------------------------------------------------------------------------- #
# Permissions
# --------------------------------------------------------------------------- #


def test_permissions_create_and_list(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox) -> None:
    p = drive.create_permission(folder["id"], "user", "reader", email_address="archive@unesco.example.org")
    assert p["type"] == "user" and p["role"] == "reader" and p["emailAddress"] == "archive@unesco.example.org"
    again = drive.create_permission(folder["id"], "user", "reader", email_address="archive@unesco.example.org")
    assert again["id"] == p["id"]  # one permission per grantee
    d = drive.create_permission(folder["id"], "domain", "reader", domain="unesco.example.org")
    assert d["domain"] == "unesco.example.org"
    perms = drive.list_permissions(folder["id"])
    assert {(x["type"], x["role"]) for x in perms} == {("user", "reader"), ("domain", "reader"),
                                                       ("user", "organizer")}  # + the drive's organizer
    # a file in the folder inherits the folder's permissions
    f = drive.create_file("a.txt", folder["id"], "text/plain", b"a", {KEY: "a"})
    assert {x["id"] for x in drive.list_permissions(f["id"])} == {x["id"] for x in perms}
    assert sandbox.notifications == []  # send_notification=False by default
    with pytest.raises(ValueError):
        drive.create_permission(folder["id"], "domain", "reader", domain="x.org", send_notification=True)
    with pytest.raises(ValueError):
        drive.create_permission(folder["id"], "user", "reader")
    with pytest.raises(DriveError) as info:
        drive.create_permission(folder["id"], "user", "emperor", email_address="a@b.org")
    assert info.value.status == 400


# --------------------------------------------------------------------------- #
# Secrets and the control API
# --------------------------------------------------------------------------- #


def test_token_never_logged(sandbox: DriveSandbox, caplog: pytest.LogCaptureFixture) -> None:
    google = logging.getLogger("google")
    google.addHandler(caplog.handler)
    old_level = google.level
    google.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    try:
        drive = make(sandbox)
        folder = drive.ensure_folder("F", sandbox.shared_drive_id, {KEY: "f"})
        sandbox.server_error("*", count=1)
        sandbox.rate_limit_403("*", count=1)
        data = payload(2 * CHUNK + 1)
        sessions: list[str] = []
        sandbox.drop(OP_CHUNK)
        drive.upload(reader(data), len(data), "x.bin", folder["id"], "application/octet-stream", {KEY: "x"},
                     on_session=sessions.append)
        drive.create_permission(folder["id"], "user", "reader", email_address="a@b.org")
        for call in (lambda: drive.get_file("nope"),
                     lambda: DriveClient.for_sandbox(sandbox.root_url, sandbox.token + "x").get_file(folder["id"])):
            try:
                call()
            except DriveError as e:
                errors.append(e)
        old = sandbox.token
        sandbox.expire_token()
        try:
            drive.get_file(folder["id"])
        except DriveAuthError as e:
            errors.append(e)
    finally:
        google.removeHandler(caplog.handler)
        google.setLevel(old_level)
    assert len(errors) == 3
    assert caplog.records  # something was logged (retries, uploads)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("oca_sync"))
    assert "retrying" in ours and "upload_id=" + sessions[0].rsplit("upload_id=", 1)[1] not in ours
    for secret in (old, sandbox.token):
        assert secret not in caplog.text
        assert all(secret not in str(e) and secret not in repr(e) for e in errors)
        assert secret not in repr(drive)


def test_control_endpoints(sandbox: DriveSandbox, drive: DriveClient, folder: dict[str, Any]) -> None:
    ctl = f"{sandbox.url}/__sandbox/drive"
    creds = requests.get(f"{ctl}/credentials", timeout=5).json()
    assert creds == {"root_url": sandbox.root_url, "token": sandbox.token, "shared_drive_id": "sandbox-drive"}
    assert requests.post(f"{ctl}/rate-limit", json={"match": "GET /drive/v3/files/{fileId}", "count": 1},
                         timeout=5).ok
    assert requests.post(f"{ctl}/corrupt-byte", json={"count": 1}, timeout=5).ok
    data = b"0123456789" * 100
    with pytest.raises(DriveChecksumMismatch) as info:
        drive.create_file("c.txt", folder["id"], "text/plain", data, {KEY: "c"})
    stored = requests.get(f"{ctl}/file/{info.value.file['id']}/content", timeout=5).content
    assert len(stored) == len(data) and stored != data
    assert drive.get_file(folder["id"])["id"] == folder["id"]  # after one 403
    assert drive.stats.retries == 1
    # alt=media downloads the bytes (with Range)
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    url = f"{sandbox.url}/drive/v3/files/{info.value.file['id']}?alt=media&supportsAllDrives=true"
    assert requests.get(url, headers=auth, timeout=5).content == stored
    part = requests.get(url, headers={**auth, "Range": "bytes=10-19"}, timeout=5)
    assert part.status_code == 206 and part.content == stored[10:20]
    listing = requests.get(f"{ctl}/files", timeout=5).json()
    assert {f["id"] for f in listing} == {folder["id"], info.value.file["id"]}
    token = requests.post(f"{ctl}/expire-token", json={}, timeout=5).json()["token"]
    assert token == sandbox.token


# --------------------------------------------------------------------------- #
# Broken answers (issue 13, item 5)
# --------------------------------------------------------------------------- #

PROXY_PAGE = "<html><body>502 Bad Gateway</body></html>"


def test_a_garbled_answer_to_a_read_is_retried(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                               waits: Waits) -> None:
    sandbox.faults.add("GET /drive/v3/files/{fileId}", "status", count=2, status=200, body=PROXY_PAGE,
                       content_type="text/html")
    assert drive.get_file(folder["id"])["id"] == folder["id"]
    assert len(waits) == 2


def test_a_truncated_answer_to_a_keyed_create_is_rechecked_not_repeated(drive: DriveClient, sandbox: DriveSandbox,
                                                                        waits: Waits) -> None:
    sandbox.faults.add("POST /drive/v3/files", "truncate")  # the folder is made, its answer cut off
    made = drive.ensure_folder("Training", sandbox.shared_drive_id, {KEY: "oca/training-cut"})
    assert [f["id"] for f in sandbox.find(**{KEY: "oca/training-cut"})] == [made["id"]]
    assert sandbox.calls.count("POST /drive/v3/files") == 1


def test_a_garbled_answer_to_an_unkeyed_create_is_outcome_unknown(drive: DriveClient, folder: dict[str, Any],
                                                                  sandbox: DriveSandbox) -> None:
    sandbox.faults.add("POST /upload/drive/v3/files (multipart)", "truncate")
    with pytest.raises(WriteOutcomeUnknown):
        drive.create_file("notes.txt", folder["id"], "text/plain", b"hello")
    assert sandbox.calls.count("POST /upload/drive/v3/files (multipart)") == 1



def test_streamed_chunks_through_faults(drive: DriveClient, folder: dict[str, Any], sandbox: DriveSandbox,
                                        waits: Waits) -> None:
    """Chunks from a ReadAhead (streamed piece by piece) survive a short 308 and a cut mid-chunk: the
    bytes asked for again are read again, and the reader's hash then vouches for nothing."""
    from oca_sync.drive.readahead import ReadAhead

    data = payload(6 * CHUNK + 5, seed=8)

    def source(start: int) -> Iterator[bytes]:
        return (data[i:i + 100_000] for i in range(start, len(data), 100_000))

    uri = drive.start_resumable("streamed.mp4", folder["id"], "video/mp4", len(data), {KEY: "rec/streamed"})
    with ReadAhead(source) as read:
        f = drive.upload_chunks(uri, read, size=len(data), chunk_size=2 * CHUNK, hash_sent=False)
        assert read.finish() == hashlib.md5(data).hexdigest() == f["md5Checksum"] and read.reopened == 0

    uri = drive.start_resumable("faults.mp4", folder["id"], "video/mp4", len(data), {KEY: "rec/faults"})
    sandbox.partial_chunk(CHUNK)  # 308 with a shorter Range
    sandbox.partial_chunk(CHUNK // 2, drop=True)  # then a transfer cut mid-body
    with ReadAhead(source) as read:
        g = drive.upload_chunks(uri, read, size=len(data), chunk_size=2 * CHUNK, hash_sent=False)
        assert read.finish() is None and read.reopened == 2
    assert g["md5Checksum"] == hashlib.md5(data).hexdigest() and sandbox.content(g["id"]) == data

    uri = drive.start_resumable("corrupt.mp4", folder["id"], "video/mp4", len(data), {KEY: "rec/corrupt"})
    sandbox.corrupt_byte(count=1)
    with ReadAhead(source) as read:
        h = drive.upload_chunks(uri, read, size=len(data), chunk_size=2 * CHUNK, hash_sent=False)
        assert h["md5Checksum"] != read.finish() == hashlib.md5(data).hexdigest()
