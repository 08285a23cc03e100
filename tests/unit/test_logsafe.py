"""The logging-layer redaction (oca_sync.logsafe): shapes, registered values, records, handlers."""

from __future__ import annotations

import io
import logging

import pytest

from oca_sync import logsafe


@pytest.mark.parametrize("line, secret", [
    ('"PUT /upload/drive/v3/files?uploadType=resumable&upload_id=ABCdef-123_xyz HTTP/1.1" 308', "ABCdef-123_xyz"),
    ('"GET /rec/cdn/1?expires=1&sig=0123456789abcdef HTTP/1.1" 200', "0123456789abcdef"),
    ("GET https://zoom.us/rec/download/x?access_token=eyJzzzz.yyyyy.zzzz", "eyJzzzz.yyyyy.zzzz"),
    ("POST /oauth/token?grant_type=x&client_secret=s3cr3t-value", "s3cr3t-value"),
    ("Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123"),
    ("{'access_token': 'tok-123456', 'expires_in': 3599}", "tok-123456"),
    ('{"download_token": "dl-token-98765"}', "dl-token-98765"),
    ("wstoken=0123456789abcdef&wsfunction=x", "0123456789abcdef"),
])
def test_redaction_by_shape(line: str, secret: str) -> None:
    assert secret not in logsafe.redact_text(line) and "***" in logsafe.redact_text(line)


def test_redaction_keeps_ordinary_text() -> None:
    text = "GET /v2/users/host1@example.org/meetings?page_size=300&next_page_token= 200; key='ocaSource'"
    assert logsafe.redact_text(text) == text


def test_registered_values_are_masked_anywhere() -> None:
    logsafe.register("R3gistered-secret-value", "short")
    assert logsafe.redact_text("x R3gistered-secret-value y") == "x *** y"
    assert logsafe.redact_text("a short word") == "a short word"  # too short to be told from text


def _logger(name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    parent = logging.getLogger(name)
    parent.handlers[:] = [handler]
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    return parent, stream, handler


def test_the_filter_covers_records_of_child_loggers_and_tracebacks() -> None:
    parent, stream, handler = _logger("logsafe-test")
    logsafe.install()
    assert any(isinstance(f, logsafe.RedactingFilter) for f in handler.filters)
    child = logging.getLogger("logsafe-test.urllib3.connectionpool")
    child.debug('%s://%s:%s "%s %s %s" %s %s', "https", "www.googleapis.com", 443, "PUT",
                "/upload/drive/v3/files?uploadType=resumable&upload_id=SESSION-123456", "HTTP/1.1", 308, 0)
    try:
        raise RuntimeError("GET https://zoom.us/rec/download/x?access_token=LEAKY-TOKEN-1 failed")
    except RuntimeError:
        child.exception("download failed")
    text = stream.getvalue()
    assert "SESSION-123456" not in text and "upload_id=***" in text
    assert "LEAKY-TOKEN-1" not in text and "access_token=***" in text and "Traceback" in text


def test_arguments_are_kept_for_formatters_that_read_them() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "POST", "/hook?access_token=abcdef123", "1.1", 200), None)
    assert logsafe.RedactingFilter().filter(record)
    assert record.args == ("127.0.0.1:5", "POST", "/hook?access_token=***", "1.1", 200)
    assert record.getMessage() == '127.0.0.1:5 - "POST /hook?access_token=*** HTTP/1.1" 200'
    # a secret split between the format and an argument: the record is flattened instead
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url ?sig=%s", ("0123456789",), None)
    logsafe.RedactingFilter().filter(record)
    assert record.getMessage() == "url ?sig=***" and record.args == ()
