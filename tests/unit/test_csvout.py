"""Every CSV cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from oca_sync import csvout


@pytest.mark.parametrize("value", ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1+1"])
def test_formula_cells_get_an_apostrophe(value: str) -> None:
    assert csvout.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Ann", "Лее", "a=b", " =x", "", "'quoted"])
def test_other_text_is_unchanged(value: str) -> None:
    assert csvout.neutralise(value) == value


def test_numbers_stay_numbers() -> None:
    assert csvout.neutralise(-5) == -5 and csvout.neutralise(1.5) == 1.5 and csvout.neutralise(None) == ""


def test_write_makes_a_file_spreadsheets_read_as_text(tmp_path: Path) -> None:
    path = csvout.write(tmp_path / "r.csv", ["name", "minutes"], [["=HYPERLINK(\"http://x\")", 90], ["Айгүл", -1]])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to show Cyrillic
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["name", "minutes"], ["'=HYPERLINK(\"http://x\")", "90"], ["Айгүл", "-1"]]


def test_row_by_row_writer_neutralises_too() -> None:
    buf = io.StringIO()
    w = csvout.writer(buf)
    w.writerows([["@x", 1], ["ok", "-"]])
    assert buf.getvalue().splitlines() == ["'@x,1", "ok,'-"]


@pytest.mark.parametrize("value", ["=1+2", "@x", "-", "Ann", "'quoted", "＋1"])
def test_restore_gives_back_what_was_neutralised(value: str) -> None:
    assert csvout.restore(csvout.neutralise(value)) == value
