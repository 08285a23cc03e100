"""Network failures named in words a person can act on, whatever requests and urllib3 wrapped them in."""

from __future__ import annotations

import requests

from oca_sync.netcause import describe, specific


def failure(url: str) -> requests.RequestException:
    try:
        requests.get(url, timeout=5)
    except requests.RequestException as e:
        return e
    raise AssertionError("expected a failure")


def test_connection_refused() -> None:
    assert describe(failure("http://127.0.0.1:1/")).startswith("connection refused")


def test_name_not_resolved() -> None:
    assert describe(failure("http://host.invalid/")).startswith("host name not resolved")


def test_other_errors_keep_their_text() -> None:
    e = ValueError("x" * 500)
    assert specific(e) is None and describe(e) == "x" * 200 + "…"
