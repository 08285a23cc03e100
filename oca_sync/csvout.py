"""The one way oca-sync writes CSV files: every text cell safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is taken as a formula by Excel, LibreOffice Calc and Google Sheets when the
file is opened ("CSV injection", OWASP), so a participant named
``=HYPERLINK(...)`` could run something on the computer of whoever opens a
report. Such cells are written with a leading apostrophe (``'=HYPERLINK(...)``),
which spreadsheets show as text; the full-width forms (``＝ ＋ － ＠``), which
some spreadsheets also evaluate, are treated the same. Numbers (``int``,
``float``) are written as they are, so pass numbers as numbers, not as text
(``-5`` stays a number, ``"-5"`` becomes ``'-5``).

Use it for every CSV oca-sync writes (reports, attendance exports, …)::

    from oca_sync import csvout

    csvout.write(path, ["name", "minutes"], rows)          # a whole file
    with path.open("w", encoding=csvout.ENCODING, newline="") as f:
        w = csvout.writer(f)                               # row by row
        w.writerow(["name", "minutes"])

Files are UTF-8 with a byte-order mark (``utf-8-sig``), which Excel needs to
show Cyrillic text correctly; Python's csv module and other tools read it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

#: What a file written by :func:`write` is encoded as (open your own files with it too).
ENCODING = "utf-8-sig"
#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection list + full-width forms).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FIRST = frozenset(FORMULA_PREFIXES)  # each prefix is one character: a set lookup per cell


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet evaluates: text starting like a formula gets a leading ``'``.

    ``None`` becomes ``""``; numbers and booleans are returned unchanged.
    """
    if type(value) is str:  # the usual cell first (a report writes hundreds of thousands)
        return "'" + value if value[:1] in _FIRST else value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text[:1] in _FIRST else text


def restore(text: str) -> str:
    """The text :func:`neutralise` was given, for a CSV read back (e.g. a review file a person edited)."""
    return text[1:] if text[:1] == "'" and text[1:].startswith(FORMULA_PREFIXES) else text


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, f: IO[str], **fmtparams: Any) -> None:
        self._writer = csv.writer(f, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(f: IO[str], **fmtparams: Any) -> SafeWriter:
    """A safe CSV writer on an open text file (open it with ``newline=""``)."""
    return SafeWriter(f, **fmtparams)


def write(path: str | Path, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Path:
    """Write ``header`` and ``rows`` to ``path`` (UTF-8 with BOM); returns the path."""
    path = Path(path)
    with path.open("w", encoding=ENCODING, newline="") as f:
        w = writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path
