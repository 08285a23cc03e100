"""DriveClient's pure parts: q escaping, error mapping, ranges, discovery document, readers.

No server here; the HTTP behaviour is in tests/integration/test_drive_sandbox.py.
"""

from __future__ import annotations

import io
import json

import pytest

from oca_sync.drive import (
    CHUNK_MULTIPLE,
    DriveAuthError,
    DriveChecksumMismatch,
    DriveClient,
    DriveError,
    DriveNotFound,
    DriveRateLimited,
    DriveServerError,
    DriveTransportError,
    DriveUploadExpired,
    StreamReader,
    app_property_clause,
    check_app_properties,
    escape_q,
    file_reader,
    load_discovery_document,
    parse_error_body,
    quote_q,
    range_end,
)
from oca_sync.errors import RemoteError
from oca_sync.sandbox.drive import _File, _multipart_parts, apply_fields, compile_query, error_body, parse_fields

# --------------------------------------------------------------------------- #
# q escaping
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("Valentine's Day", "Valentine\\'s Day"),  # Drive's own example
        ("C:\\path", "C:\\\\path"),
        ("a\\'b", "a\\\\\\'b"),  # backslash first, then the quote
        ("Сессия 1 — «тренинг»", "Сессия 1 — «тренинг»"),
        ("", ""),
    ],
)
def test_escape_q(raw: str, escaped: str) -> None:
    assert escape_q(raw) == escaped
    assert quote_q(raw) == f"'{escaped}'"


def test_app_property_clause_escapes_key_and_value() -> None:
    assert app_property_clause("ocaKey", "it's") == "appProperties has { key='ocaKey' and value='it\\'s' }"


def _file(name: str, **kw: object) -> _File:
    base: dict[str, object] = {"id": "1x", "name": name, "mime_type": "text/plain", "parents": ["p1"],
                               "drive_id": "d", "app_properties": {}, "created": 0.0, "seq": 1}
    base.update(kw)
    return _File(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["O'Brien", "back\\slash", "both \\' at once", "'", "\\", "trailing\\", "кыргыз"])
def test_escaped_names_round_trip_through_a_query_parser(name: str) -> None:
    # The emulator's parser reads the strings the way Drive documents them: \' and \\.
    pred = compile_query(f"name = {quote_q(name)} and trashed = false")
    assert pred(_file(name))
    assert not pred(_file(name + "x"))
    prop = compile_query(app_property_clause("k", name))
    assert prop(_file("f", app_properties={"k": name}))
    assert not prop(_file("f", app_properties={"k": name + "x"}))


def test_query_parser_clauses() -> None:
    f = _file("Session 01 recording", app_properties={"ocaKey": "s1"}, parents=["abc"])
    assert compile_query("'abc' in parents and mimeType = 'text/plain'")(f)
    assert not compile_query("'zzz' in parents")(f)
    assert compile_query("mimeType != 'application/vnd.google-apps.folder'")(f)
    assert compile_query("trashed = false")(f) and not compile_query("trashed = true")(f)
    assert compile_query("trashed != true")(f)
    assert compile_query("name contains 'sess'")(f)
    assert not compile_query("name contains 'ession'")(f)  # prefix matching on words, as Drive does
    assert compile_query("(name = 'x' or appProperties has { key='ocaKey' and value='s1' })")(f)
    assert compile_query("not name = 'x'")(f)
    assert compile_query("")(f)
    for bad in ["name = ", "name ~ 'x'", "size > 3", "'a' in owners", "trashed = maybe", "name = 'x' and"]:
        with pytest.raises(ValueError):
            compile_query(bad)


# --------------------------------------------------------------------------- #
# Error mapping
# --------------------------------------------------------------------------- #


def _body(status: int, reason: str, message: str = "msg", domain: str = "global") -> bytes:
    return error_body(status, reason, message, domain=domain)


def test_parse_error_body_variants() -> None:
    assert parse_error_body(_body(404, "notFound", "File not found: 1A.")) == ("File not found: 1A.", "notFound",
                                                                             "global")
    status_only = json.dumps({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}})
    assert parse_error_body(status_only) == ("denied", "PERMISSION_DENIED", None)
    assert parse_error_body(b"<html>502</html>") == (None, None, None)
    assert parse_error_body(b"") == (None, None, None)
    as_list = json.dumps([{"error": {"code": 500, "message": "x", "errors": [{"reason": "backendError"}]}}])
    assert parse_error_body(as_list) == ("x", "backendError", None)


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (404, "notFound", DriveNotFound),
        (401, "authError", DriveAuthError),
        (403, "insufficientPermissions", DriveAuthError),
        (403, "accessNotConfigured", DriveAuthError),
        (403, "userRateLimitExceeded", DriveRateLimited),
        (403, "rateLimitExceeded", DriveRateLimited),
        (429, "rateLimitExceeded", DriveRateLimited),
        (500, "backendError", DriveServerError),
        (503, "backendError", DriveServerError),
        (400, "badRequest", DriveError),
        (403, "insufficientFilePermissions", DriveError),
    ],
)
def test_error_mapping(status: int, reason: str, cls: type[DriveError]) -> None:
    err = DriveClient._error(status, _body(status, reason, "Something"), "drive.files.get")
    assert type(err) is cls
    assert (err.status, err.reason, err.drive_message, err.operation) == (status, reason, "Something",
                                                                          "drive.files.get")
    assert reason in str(err) and "Something" in str(err)
    assert isinstance(err, RemoteError) and err.service == "drive"


def test_storage_quota_error_explains_shared_drives() -> None:
    err = DriveClient._error(403, _body(403, "storageQuotaExceeded", "Service Accounts do not have storage quota."),
                             "drive.files.create")
    assert type(err) is DriveError and err.reason == "storageQuotaExceeded"
    assert "shared drive" in str(err)


def test_error_without_json_body() -> None:
    err = DriveClient._error(502, b"<html>Bad Gateway</html>", "drive.files.list")
    assert isinstance(err, DriveServerError) and err.reason is None and "HTTP 502" in str(err)


@pytest.mark.parametrize(
    ("status", "reason", "retry"),
    [(500, "backendError", True), (503, None, True), (429, "rateLimitExceeded", True),
     (403, "userRateLimitExceeded", True), (403, "rateLimitExceeded", True), (403, "forbidden", False),
     (403, "storageQuotaExceeded", False), (404, "notFound", False), (400, "badRequest", False)],
)
def test_what_is_retried(status: int, reason: str | None, retry: bool) -> None:
    content = _body(status, reason) if reason else b""
    assert DriveClient._retryable(status, content) is retry


def test_error_classes() -> None:
    assert issubclass(DriveServerError, DriveTransportError)
    for cls in (DriveAuthError, DriveNotFound, DriveRateLimited, DriveUploadExpired, DriveChecksumMismatch):
        assert issubclass(cls, DriveError)
    e = DriveChecksumMismatch("bad", file={"id": "1"}, expected="a", actual="b")
    assert (e.file, e.expected, e.actual) == ({"id": "1"}, "a", "b")


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def test_range_end() -> None:
    assert range_end(None) == 0
    assert range_end("") == 0
    assert range_end("bytes=0-262143") == 262144
    assert range_end("bytes=0-0") == 1
    for bad in ("bytes=5-10", "items=0-1", "bytes=0-"):
        with pytest.raises(ValueError):
            range_end(bad)


def test_check_app_properties() -> None:
    assert check_app_properties({"ocaKey": "a", "gone": None}) == {"ocaKey": "a", "gone": None}
    assert check_app_properties(None) == {}
    check_app_properties({"k" * 10: "v" * 114})  # exactly 124 bytes
    with pytest.raises(ValueError, match="124"):
        check_app_properties({"k" * 10: "v" * 115})
    with pytest.raises(ValueError, match="124"):
        check_app_properties({"key": "ы" * 61})  # 3 + 122 bytes of UTF-8
    with pytest.raises(ValueError):
        check_app_properties({"n": 3})
    with pytest.raises(ValueError):
        check_app_properties({f"k{i}": "v" for i in range(31)})


def test_discovery_document_root_replaced() -> None:
    real = load_discovery_document()
    assert real["rootUrl"] == "https://www.googleapis.com/"
    doc = load_discovery_document("http://127.0.0.1:8765")
    assert doc["rootUrl"] == doc["mtlsRootUrl"] == "http://127.0.0.1:8765/"
    assert doc["baseUrl"] == "http://127.0.0.1:8765/drive/v3/"
    assert load_discovery_document()["rootUrl"] == "https://www.googleapis.com/"  # no shared mutation


def test_requests_and_media_uploads_go_to_the_root_url() -> None:
    from googleapiclient.http import MediaIoBaseUpload

    client = DriveClient.for_sandbox("http://127.0.0.1:9", "t0k3n")
    listing = client.service.files().list(q="trashed = false", supportsAllDrives=True)
    assert listing.uri.startswith("http://127.0.0.1:9/drive/v3/files?")
    media = MediaIoBaseUpload(io.BytesIO(b"x"), mimetype="text/plain", resumable=False)
    upload = client.service.files().create(body={"name": "x"}, media_body=media)
    assert upload.uri.startswith("http://127.0.0.1:9/upload/drive/v3/files?")
    assert "uploadType=multipart" in upload.uri
    assert client._upload_url == "http://127.0.0.1:9/upload/drive/v3/files"


def test_repr_and_chunk_size() -> None:
    client = DriveClient.for_sandbox("http://127.0.0.1:9", "s3cr3t-token")
    assert "s3cr3t" not in repr(client)
    for bad in (0, 1000, CHUNK_MULTIPLE + 1):
        with pytest.raises(ValueError):
            DriveClient.for_sandbox("http://127.0.0.1:9", "t", chunk_size=bad)
    DriveClient.for_sandbox("http://127.0.0.1:9", "t", chunk_size=4 * CHUNK_MULTIPLE)


def test_missing_key_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from oca_sync.errors import ConfigError

    with pytest.raises(ConfigError, match="OCA_DRIVE_CREDENTIALS"):
        DriveClient.from_service_account_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account", "private_key": "SECRET-MATERIAL"}')
    with pytest.raises(ConfigError) as info:
        DriveClient.from_service_account_file(broken)
    assert "SECRET-MATERIAL" not in str(info.value)


def test_stream_reader_keeps_only_what_may_be_asked_again() -> None:
    data = bytes(range(256)) * 40
    pieces = [data[i:i + 1000] for i in range(0, len(data), 1000)]
    read = StreamReader(pieces)
    assert read(0, 4096) == data[:4096]
    assert read(1024, 4096) == data[1024:5120]  # the server kept less: asked again from its offset
    assert read(5120, 10000) == data[5120:]
    with pytest.raises(ValueError):
        read(0, 10)


def test_file_reader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    with file_reader(path) as read_at:
        assert read_at(3, 4) == b"3456"
        assert read_at(8, 10) == b"89"


# --------------------------------------------------------------------------- #
# The emulator's pure helpers
# --------------------------------------------------------------------------- #


def test_fields_selection() -> None:
    tree = parse_fields("nextPageToken, files(id, name, appProperties), kind")
    body = {"kind": "drive#fileList", "nextPageToken": "t", "incompleteSearch": False,
            "files": [{"id": "1", "name": "a", "size": "3", "appProperties": {"k": "v"}}]}
    assert apply_fields(body, tree) == {"kind": "drive#fileList", "nextPageToken": "t",
                                        "files": [{"id": "1", "name": "a", "appProperties": {"k": "v"}}]}
    assert parse_fields("files/id,files/name") == {"files": {"id": None, "name": None}}
    assert apply_fields(body, parse_fields("*")) == body
    for bad in ("files(id", "files)", "a,,b"):
        with pytest.raises(ValueError):
            parse_fields(bad)


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_multipart_parts_keep_binary_content(eol: bytes) -> None:
    payload = b"line\r\nline\n\r\x00\xff--b"
    body = eol.join([b"--b", b"Content-Type: application/json", b"", b'{"name": "x"}',
                     b"--b", b"Content-Type: text/plain", b"", payload, b"--b--", b""])
    parts = _multipart_parts(body, b"b")
    assert [p[1] for p in parts] == [b'{"name": "x"}', payload]
    assert parts[1][0]["content-type"] == "text/plain"


def test_session_uris_are_scrubbed_from_error_text() -> None:
    from oca_sync.drive.client import _short

    e = ConnectionError("Max retries exceeded with url: /upload/drive/v3/files?uploadType=resumable"
                        "&upload_id=ABCdef-123_x (Caused by NewConnectionError)")
    text = _short(e)
    assert "ABCdef" not in text and "upload_id=***" in text
