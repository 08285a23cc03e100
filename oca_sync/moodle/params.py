"""Moodle's parameter cleaning rules (``core\\param``), ported to Python.

Moodle's web services run every parameter through ``validate_param``
(public/lib/classes/param.php:593-625): the value is cleaned with its PARAM_*
type and, if cleaning changed it, the call fails with ``invalidparameter``.
So a text oca-sync sends must be *exactly* what cleaning leaves, or the call
fails, possibly after other writes of the same apply. ``validate`` uses these
rules to find such texts before any remote call; the sandbox's Moodle
emulator uses the same port, so it refuses what a real Moodle refuses.

Ported from Moodle 5.1 (2025100600.02); each function cites its source.
``tests/unit/test_moodle_params.py`` checks the port against what a real
Moodle returned for a set of awkward inputs
(``scripts/moodle_clean_param_golden.php`` produced that table).
"""

from __future__ import annotations

import re

from .filenames import clean_file_name

#: C's isspace() (PHP's strip_tags keeps a ``<`` followed by one of these).
_C_SPACE = " \t\n\v\f\r"


def fix_utf8(text: str) -> str:
    """fix_utf8 (public/lib/moodlelib.php:818): drop NUL, U+FFFE and U+FFFF.

    (Invalid UTF-8 cannot occur in a Python ``str``; lone surrogates, which
    cannot be sent at all, are refused by the spec checks.)
    """
    if text == "" or re.fullmatch(r"-?\d+", text):
        return text
    return text.replace("\0", "").replace("\ufffe", "").replace("\uffff", "")


def strip_tags(text: str, allowed: tuple[str, ...] = ()) -> str:
    """PHP 8's strip_tags (ext/standard/string.c php_strip_tags_ex), for the inputs that matter here.

    Drops ``<...>`` tags (quotes inside a tag may hold ``>``; ``<`` nests),
    comments ``<!-- -->`` and ``<?...?>`` blocks, and NUL bytes; keeps the tags
    named in ``allowed``. A ``<`` followed by whitespace is plain text (in PHP 8
    also when tags are allowed); an unterminated tag swallows the rest.
    """
    if "<" not in text and "\0" not in text:
        return text  # nothing to strip (the common case; keeps big rosters fast)
    out: list[str] = []
    i, n = 0, len(text)
    allowed_set = {a.strip("<>/").lower() for a in allowed}
    while i < n:
        c = text[i]
        if c == "\0":
            i += 1
            continue
        if c != "<" or (i + 1 < n and text[i + 1] in _C_SPACE):
            out.append(c)
            i += 1
            continue
        if text.startswith("<!--", i):
            end = text.find("-->", i + 2)  # "<!-->" closes itself, as in PHP
            i = n if end < 0 else end + 3
            continue
        if text.startswith("<?", i):
            end = text.find("?>", i + 1)  # "<?>" closes itself, as in PHP
            i = n if end < 0 else end + 2
            continue
        j, quote, depth = i + 1, "", 0
        nests = not text.startswith("<!", i)  # in "<!...>" a '<' does not nest
        while j < n:
            ch = text[j]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in ("'", '"'):
                quote = ch
            elif ch == "<" and nests and not (j + 1 < n and text[j + 1] in _C_SPACE):
                depth += 1
            elif ch == ">":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        if j >= n:
            break  # unterminated tag: PHP drops the remainder
        tag = text[i:j + 1]
        m = re.match(r"</?\s*([A-Za-z0-9]+)", tag)
        if m and m.group(1).lower() in allowed_set:
            out.append(tag.replace("\0", ""))
        i = j + 1
    return "".join(out)


_SPAN_OPENER = re.compile(r'<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>')
_LANG_OPENER = re.compile(r'<lang lang="[a-zA-Z0-9_-]+"\s*>')


def clean_text(value: str) -> str:
    """PARAM_TEXT (core\\param::clean_param_value_text, param.php:834-897).

    Tags are stripped, except well-formed multilang markup
    (``<span lang="xx" class="multilang">…</span>`` or ``<lang lang="xx">…</lang>``);
    if that markup is not exactly well formed, *every* tag is stripped.
    """
    s = fix_utf8(value)
    for closer, tag, opener in (("</lang>", "lang", _LANG_OPENER), ("</span>", "span", _SPAN_OPENER)):
        if closer not in s:
            continue
        kept = strip_tags(s, (tag,))
        # preg_match_all('/<.*>/suU'): lazy matches from each '<' to the next '>'
        matches = re.findall(r"<.*?>", kept, flags=re.DOTALL)
        if matches and _balanced(matches, closer, opener):
            return kept
        return strip_tags(kept)
    return strip_tags(s)


def _balanced(tags: list[str], closer: str, opener: re.Pattern[str]) -> bool:
    is_open = False
    for tag in tags:
        if tag == closer:
            if not is_open:
                return False
            is_open = False
        elif opener.fullmatch(tag):
            is_open = True
        else:
            return False
    return not is_open


def clean_notags(value: str) -> str:
    """PARAM_NOTAGS (core\\param::clean_param_value_notags, param.php:822-826)."""
    return strip_tags(fix_utf8(value))


def clean_file(value: str) -> str:
    """PARAM_FILE (core\\param::clean_param_value_file, param.php:975-985): the port in
    :mod:`oca_sync.moodle.filenames` (one port; checked against Moodle here too)."""
    return clean_file_name(value)


# PHP's filter_var($x, FILTER_VALIDATE_EMAIL) (ext/filter/logical_filters.c), which
# validate_email() uses (public/lib/weblib.php:387 -> moodle_phpmailer::validateAddress,
# $validator = 'php'), restricted to the usual forms: dot-atom local part, host names.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # PHP: the last label starts with a letter
_EMAIL = re.compile(rf"(?=[^@]{{1,64}}@){_LOCAL}@(?:{_LABEL}\.)+{_TLD}")


def validate_email(address: str) -> bool:
    """validate_email (public/lib/weblib.php:387): what a Moodle account's e-mail must satisfy.

    Accepts a subset of what PHP accepts (no quoted local parts or address
    literals), so an address accepted here is accepted by Moodle.
    """
    return len(address) <= 254 and bool(_EMAIL.fullmatch(address)) and not re.search(r"[<>]", address)


def accepts_text(value: str) -> bool:
    """A PARAM_TEXT parameter with this value passes ``validate_param`` unchanged."""
    return clean_text(value) == value


def accepts_notags(value: str) -> bool:
    """A PARAM_NOTAGS parameter with this value passes ``validate_param`` unchanged."""
    return clean_notags(value) == value
