"""The name Moodle stores for an uploaded file: PARAM_FILE, ported from Moodle 5.1.

``webservice/upload.php`` (line 106) keeps ``clean_param($_FILES[...]['name'],
PARAM_FILE)``, so ``bo'yicha.pdf`` is stored as ``boyicha.pdf``. What we compare
with the site (and what we upload) must be that name, or every plan sees a
different file. Used by the planner, by ``validate`` (a name that cleans to
nothing cannot be uploaded) and by the sandbox's emulation of upload.php.
"""

from __future__ import annotations

import re

# public/lib/classes/param.php, clean_param_value_file() (Moodle 5.1, lines 975-984):
#     $param = (string)fix_utf8($param);
#     $param = preg_replace('~[[:cntrl:]]|[&<>"`\|\':\\\\/]~u', '', $param);
#     if ($param === '.' || $param === '..') { $param = ''; }
# With /u, PHP compiles with PCRE2_UCP, so [[:cntrl:]] is \p{Cc}: U+0000-001F and U+007F-009F.
_PARAM_FILE = re.compile(r"[\x00-\x1f\x7f-\x9f]|[&<>\"`|':\\/]")

# public/lib/moodlelib.php fix_utf8() (lines 818-874): drops NUL, U+FFFE and U+FFFF and, through
# iconv //IGNORE, bytes that are not UTF-8 (surrogates here: a name read with surrogateescape).
_NOT_UTF8 = re.compile("[\ud800-\udfff\ufffe\uffff]")

#: What PARAM_FILE removes, for messages.
REMOVED = "& < > \" ` | ' : \\ / and control characters"


def clean_file_name(name: str) -> str:
    """``clean_param($name, PARAM_FILE)``: the file name Moodle keeps ('' when nothing is left)."""
    cleaned = _PARAM_FILE.sub("", _NOT_UTF8.sub("", name))
    return "" if cleaned in (".", "..") else cleaned
