"""Reading roster tables the way people have them: CSV from any spreadsheet, or .xlsx.

Excel in Russian (and many other) locales saves CSV with ``;`` as separator,
often with a byte-order mark and CRLF line ends; others save ``,`` or tabs.
The separator is detected from the header line. ``.xlsx`` files are read with
openpyxl (first sheet, values only). Either way the result is the same: rows
of text with the line (or sheet row) each starts on, for error messages.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["RosterUnreadable", "read_table"]

_SEPARATORS = ",;\t"


class RosterUnreadable(ValueError):
    """The file cannot be read as a table; the message says why without quoting the file."""


def read_table(path: Path) -> list[tuple[int, list[str]]]:
    """Rows of ``path`` (CSV or .xlsx) with their 1-based line or row number; the header is the first row."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    try:
        # utf-8-sig: spreadsheets often save a byte-order mark; newline="": CRLF and quoted line breaks.
        with path.open(encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise RosterUnreadable(f"not UTF-8 text (byte {e.start}); save it as 'CSV UTF-8' or .xlsx") from None
    if text[:4] == "PK\x03\x04":
        raise RosterUnreadable("this is a spreadsheet file, not CSV: name it .xlsx")
    try:
        return list(_csv_rows(text.splitlines(keepends=True), _separator(text)))
    except csv.Error as e:  # names the problem ("line contains NUL"), not the data
        raise RosterUnreadable(str(e)) from None


def _separator(text: str) -> str:
    """The separator of the header line: the one of ``,`` ``;`` tab that occurs most outside quotes."""
    header = text.split("\n", 1)[0]
    counts = {sep: 0 for sep in _SEPARATORS}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _csv_rows(lines: Iterable[str], separator: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line number each starts on (a quoted value may span lines)."""
    reader = csv.reader(lines, delimiter=separator)
    line = 1
    for values in reader:
        yield line, values
        line = reader.line_num + 1


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as e:
        raise RosterUnreadable(f"not a readable .xlsx workbook ({type(e).__name__})") from None
    try:
        sheet = book.worksheets[0]
        return [(n, [_cell(v) for v in row]) for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def _cell(value: object) -> str:
    """A cell as the text a person sees: 42 not 42.0, dates as ISO dates, empty as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    return str(value)
