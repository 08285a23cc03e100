"""What a text in the spec may hold, field by field, and how names are made acceptable to Moodle.

Every text ends up somewhere with rules of its own; breaking one of them is
found here, at ``validate`` time, with file and line, instead of halfway
through an ``apply``:

* **Moodle's parameter types.** A web-service parameter that Moodle's cleaning
  would change makes the whole call fail with ``invalidparameter``
  (``validate_param``, public/lib/classes/param.php:593-625; the rules are
  ported in :mod:`oca_sync.moodle.params`):

  ========================================  ==========  ==========================================
  spec field                                PARAM type  where Moodle declares it
  ========================================  ==========  ==========================================
  category name                             TEXT        course/externallib.php:2136 (create_categories)
  course fullname (and shortname)           TEXT        course/externallib.php:871-872 (create_courses)
  organisation name (group name)            TEXT        group/externallib.php:75 (create_groups)
  session title (section name)              TEXT        local_ocasync upsert_sections.php:51
  session title (calendar event name)       TEXT        calendar/externallib.php:682
  content/survey/attendance titles          TEXT        local_ocasync upsert_modules.php:53
  person firstname, lastname                NOTAGS      lib/classes/user.php:731-732 (create_users)
  person city                               TEXT        lib/classes/user.php:741
  person email                              RAW_TRIMMED lib/classes/user.php:734, then validate_email
                                                        (user/externallib.php:197, lib/weblib.php:387)
  summaries, descriptions, bodies, intros   RAW         (HTML; fix_utf8 only, moodlelib.php:818)
  ========================================  ==========  ==========================================

  PARAM_TEXT keeps only well-formed multilang spans: a ``<`` that starts a tag,
  and in a multilingual name *any* ``<`` (``/<.*>/suU`` then sees a non-span
  "tag"), makes Moodle refuse the call. Names are therefore **encoded**, not
  refused: :func:`moodle_name` writes ``<`` as ``&lt;`` whenever Moodle would
  otherwise refuse the name (Moodle shows names through ``format_string``,
  which displays ``&lt;`` as ``<``), and the planner compares with that same
  encoded text, so a second apply writes nothing. A person's names are
  PARAM_NOTAGS and are shown escaped in many places, so there a tag is refused.

* **Characters that deceive or break.** NUL, U+FFFE and U+FFFF are removed by
  Moodle's fix_utf8 (so the value never compares equal) and lone surrogates
  cannot be sent at all: refused everywhere. Bidirectional embeddings,
  overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what a reader
  sees ("Trojan Source", CVE-2021-42574): refused everywhere. A name is one
  line: no control characters, and no invisible characters (zero-width space,
  word joiner, BOM, soft hyphen, ...), which make two names look identical
  while they differ. A person's names, e-mail, username and Zoom user hold no
  Unicode format characters at all (category Cf).

* **Spreadsheet formulas.** A person's name or city starting with ``=``, ``+``,
  ``-`` or ``@`` is run as a formula when an export is opened in a spreadsheet
  (OWASP "CSV injection"): refused. Every CSV oca-sync writes also neutralises
  such cells (:mod:`oca_sync.csvout`).

* **URLs** must be ``http(s)://host...`` with a valid host, no user name or
  password in them, none of ``" < > \\ { } | ^ `` ` and no HTML entities (the
  companion plugin stores what ``url_fix_submitted_url`` makes of it,
  mod/url/locallib.php:57, which decodes entities, so ``&amp;`` would never
  compare equal), and must pass ``url_appears_valid_url``
  (mod/url/locallib.php:39).

* **Feedback options** may not hold Moodle Feedback's separators (``|``
  between options, ``####`` between a rating's value and text,
  ``>>>>>``/``<<<<<`` around them; mod/feedback/item/multichoice/lib.php).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from pydantic import BaseModel

from oca_sync.moodle import params
from oca_sync.spec.findings import first_per_place
from oca_sync.spec.loader import SpecPath
from oca_sync.spec.models import CourseSpec, MultiText, Person
from oca_sync.spec.multilang import render

#: Bidirectional embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Characters that show nothing (or look like a space) but make two names differ.
INVISIBLE = frozenset(
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u2060\u2061\u2062\u2063\u2064\u3164\ufeff\uffa0"
)
#: Removed by Moodle's fix_utf8 (public/lib/moodlelib.php:818).
MOODLE_DROPS = frozenset("\0\ufffe\uffff")
#: A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The countries Moodle knows (public/lang/en/countries.php, 5.1): user_create_user (user/lib.php:113)
#: silently blanks a code core_user::validate does not know (lib/classes/user.php:742), which would never
#: compare equal.
MOODLE_COUNTRIES = frozenset((
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW "
).split())
#: Moodle Feedback's separators inside an item's presentation (mod/feedback/item/multichoice/lib.php:20-22,
#: multichoicerated/lib.php:23); '|' is reported by checks._check_surveys.
FEEDBACK_SEPARATORS = ("####", ">>>>>", "<<<<<")


_CONTROL_NAMES = {"\t": "tab", "\n": "line feed", "\r": "carriage return", "\0": "null"}


def _name_of(ch: str) -> str:
    return f"U+{ord(ch):04X} {_CONTROL_NAMES.get(ch) or unicodedata.name(ch, '').lower()}".rstrip()


def _plain(value: str) -> bool:
    """Fast path (C speed, for big rosters): no control, format, surrogate, unassigned, separator
    other than space (str.isprintable) and no invisible character."""
    return value.isprintable() and INVISIBLE.isdisjoint(value)


def text_problem(value: str) -> str | None:
    """What no text in the spec may hold (None: fine). Long texts (HTML) keep tabs and newlines."""
    if _plain(value):
        return None
    for ch in value:
        if ch in MOODLE_DROPS:
            return f"holds {_name_of(ch)}, which Moodle removes (so the text would never match)"
        if unicodedata.category(ch) == "Cs":
            return f"holds a lone surrogate ({_name_of(ch)}), which cannot be sent as UTF-8"
        if ch in BIDI_CONTROLS:
            return f"holds the bidirectional control {_name_of(ch)}, which changes how the text reads"
        if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r":
            return f"holds the control character {_name_of(ch)}"
    return None


def name_problem(value: str) -> str | None:
    """What a one-line name (title, group, category, folder) may not hold."""
    if _plain(value):
        return None
    problem = text_problem(value)
    if problem:
        return problem
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            return f"holds {_name_of(ch)}: a name is one line of text"
        if ch in INVISIBLE:
            return f"holds the invisible character {_name_of(ch)}, so it could look like another name"
    return None


def person_problem(value: str, param: str = "notags") -> str | None:
    """A person's first name, last name or city: a name, no format characters, no formula, no tags."""
    problem = name_problem(value)
    if problem:
        return problem
    for ch in "" if _plain(value) else value:
        if unicodedata.category(ch) == "Cf":
            return f"holds the invisible format character {_name_of(ch)}"
    if value.startswith(FORMULA_PREFIXES):
        return (f"starts with {value[0]!r}, which a spreadsheet runs as a formula when the name is exported; "
                "remove it")
    accepted = params.accepts_notags(value) if param == "notags" else params.accepts_text(value)
    if not accepted:
        kind = "PARAM_NOTAGS" if param == "notags" else "PARAM_TEXT"
        return (f"Moodle strips HTML tags here ({kind}) and would refuse {value!r}; "
                "a '<' may only be followed by a space")
    return None


def identity_problem(value: str) -> str | None:
    """E-mail, username, Zoom user: no control or format characters at all."""
    for ch in "" if _plain(value) else value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ch in MOODLE_DROPS:
            return f"holds the invisible character {_name_of(ch)}"
    return None


def email_problem(value: str) -> str | None:
    """An address Moodle accepts for an account (validate_email, lib/weblib.php:387)."""
    problem = identity_problem(value)
    if problem:
        return problem
    if not params.validate_email(value):
        return (f"{value!r} is not an e-mail address Moodle accepts (letters, digits and !#$%&'*+/=?^_`{{|}}~- "
                "before the @, a host name with a dot after it)")
    return None


def option_problem(value: str) -> str | None:
    """A feedback choice option (one language of it)."""
    problem = name_problem(value)
    if problem:
        return problem
    for sep in FEEDBACK_SEPARATORS:
        if sep in value:
            return f"holds {sep!r}, which Moodle Feedback uses to separate options"
    return None


_HOST = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)*[^\W\d_](?:[\w-]{0,61}[^\W_])?|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]")
_URL_VALID = re.compile(r"[a-z]+://([^:@\s]+:[^@\s]+@)?[^ @]+(:[0-9]+)?(/[^#]*)?(#.*)?", re.IGNORECASE)
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
#: Practical limit of browsers and web servers for a URL.
URL_MAX = 2048


def url_problem(value: str) -> str | None:
    """A link the url activity stores unchanged and that carries no secret or markup."""
    problem = identity_problem(value)
    if problem:
        return problem
    if len(value) > URL_MAX:
        return f"is {len(value)} characters long; at most {URL_MAX}"
    bad = sorted(set(value) & set(' "<>\\{}|^`'))
    if bad:
        return f"holds {' '.join(repr(c) for c in bad)}; percent-encode them (e.g. %20 for a space)"
    if _ENTITY.search(value):
        return "holds an HTML entity (e.g. &amp;): write the URL as it is, with a plain '&'"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as e:
        return f"is not a valid URL ({e})"
    if parts.scheme.lower() not in ("http", "https"):
        return "must start with http:// or https://"
    if "@" in parts.netloc:
        return "holds a user name or password (user:password@host); never put credentials in a link"
    if not parts.hostname or not _HOST.fullmatch(parts.hostname):
        return f"has no valid host name ({parts.netloc!r})"
    if port == 0:
        return "has an invalid port"
    if not _URL_VALID.fullmatch(value):
        return "is not a URL Moodle's url activity accepts (url_appears_valid_url)"
    return None


# --- names as Moodle will store them ----------------------------------------------------


def escape_name(text: MultiText) -> MultiText:
    """``<`` as ``&lt;`` in every language (Moodle's format_string shows it as ``<``)."""
    if isinstance(text, str):
        return text.replace("<", "&lt;")
    return {lang: v.replace("<", "&lt;") for lang, v in text.items()}


def moodle_name(text: MultiText, languages: Sequence[str]) -> str:
    """A name (PARAM_TEXT) as oca-sync sends and compares it: multilang spans, and
    ``<`` encoded when Moodle would otherwise refuse the name."""
    rendered = render(text, languages)
    if params.accepts_text(rendered):
        return rendered
    return render(escape_name(text), languages)


# --- the checks over a whole spec ------------------------------------------------------------

Finding = tuple[SpecPath, str]


def _variants(text: MultiText, where: SpecPath) -> Iterator[tuple[SpecPath, str]]:
    if isinstance(text, str):
        yield where, text
    else:
        for lang, value in text.items():
            yield where + (lang,), value


def _strings(value: object, path: SpecPath) -> Iterator[tuple[SpecPath, str]]:
    """Every string in a model tree, with its path."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), path + (name,))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, path + (i,))
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _strings(item, path + (k,))
    elif isinstance(value, str):
        yield path, value


def person_findings(person: Person) -> list[tuple[str, str]]:
    """(field, problem) for a person's texts (inline, staff or roster row)."""
    out: list[tuple[str, str]] = []
    for name in ("firstname", "lastname"):
        problem = person_problem(getattr(person, name))
        if problem:
            out.append((name, problem))
    if person.city:
        problem = person_problem(person.city, "text")
        if problem:
            out.append(("city", problem))
    problem = email_problem(person.email)
    if problem:
        out.append(("email", problem))
    if person.country and person.country not in MOODLE_COUNTRIES:
        out.append(("country", f"{person.country!r} is not a country code Moodle knows (ISO 3166-1, e.g. KG)"))
    for name in ("username", "zoom_user"):
        value = getattr(person, name, None)
        problem = identity_problem(value) if value else None
        if problem:
            out.append((name, problem))
    return out


def _names(spec: CourseSpec) -> Iterator[tuple[SpecPath, MultiText]]:
    """Every one-line name in the spec, with its path."""
    yield ("programme", "name"), spec.programme.name
    yield ("moodle", "category", "name"), spec.moodle.category.name
    for i, course in enumerate(spec.courses):
        c: SpecPath = ("courses", i)
        yield c + ("fullname",), course.fullname
        for j, session in enumerate(course.sessions):
            yield c + ("sessions", j, "title"), session.title
            for k, item in enumerate(session.content):
                title = getattr(item, "title", None)
                if title is not None:
                    yield c + ("sessions", j, "content", k, "title"), title
        for j, survey in enumerate(course.surveys):
            yield c + ("surveys", j, "title"), survey.title
            for q, question in enumerate(survey.questions):
                if question.type != "info":
                    yield c + ("surveys", j, "questions", q, "text"), question.text
        if course.attendance is not None:
            yield c + ("attendance", "name"), course.attendance.name
    for i, org in enumerate(spec.organisations):
        yield ("organisations", i, "name"), org.name


_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}")


def check_spec(spec: CourseSpec) -> list[Finding]:
    """Every text of ``spec`` against the rules of the field it goes to (see the module's docstring)."""
    out: list[Finding] = []
    for where, text in _names(spec):
        for path, value in _variants(text, where):
            # PHP's empty() takes "0" for no name (core_course_category::create, course/classes/category.php:469)
            problem = (name_problem(value) if value not in ("", "0") else
                       "give a name: Moodle needs one here" if value == "" else
                       "Moodle takes the name '0' for no name: write another one")
            if problem:
                out.append((path, problem))
    for i, course in enumerate(spec.courses):
        for j, session in enumerate(course.sessions):
            for k, item in enumerate(session.content):
                url = getattr(item, "url", None)
                problem = url_problem(url) if isinstance(url, str) else None
                if problem:
                    out.append((("courses", i, "sessions", j, "content", k, "url"), f"the link {problem}"))
        for j, survey in enumerate(course.surveys):
            for q, question in enumerate(survey.questions):
                for o, option in enumerate(question.options):
                    for path, value in _variants(option, ("courses", i, "surveys", j, "questions", q, "options", o)):
                        problem = option_problem(value)
                        if problem:
                            out.append((path, problem))
    people: list[tuple[SpecPath, Person]] = [
        (("organisations", i, "members", j), m) for i, o in enumerate(spec.organisations) for j, m in enumerate(o.members)
    ] + [(("staff", i), s) for i, s in enumerate(spec.staff)]
    for where, person in people:
        out += [(where + (name,), problem) for name, problem in person_findings(person)]
    for i, address in enumerate(spec.zoom.alternative_hosts):
        problem = email_problem(address)
        if problem:
            out.append((("zoom", "alternative_hosts", i), problem))
    for i, who in enumerate(spec.drive.share_with):
        problem = identity_problem(who)
        if problem is None and "@" in who:
            problem = email_problem(who)
        elif problem is None and not _DOMAIN.fullmatch(who):
            problem = f"{who!r} is neither an e-mail address nor a domain name"
        if problem:
            out.append((("drive", "share_with", i), problem))
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", spec.moodle.auth):  # user.auth char(20), PARAM_AUTH
        out.append((("moodle", "auth"), f"{spec.moodle.auth!r} is not the name of a Moodle authentication plugin "
                                        "(e.g. manual, email, ldap)"))
    problem = name_problem(spec.drive.root_folder)
    if problem:
        out.append((("drive", "root_folder"), problem))
    # Last: what no text at all may hold (reported only where nothing more precise was).
    for path, value in _strings(spec, ()):
        problem = text_problem(value)
        if problem:
            out.append((path, problem))
    return first_per_place(out)


# --- look-alike names (warnings) ------------------------------------------------------------

#: Scripts whose letters look alike (Latin a / Cyrillic а / Greek α ...).
_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
_WORD = re.compile(r"[^\W\d_]+")


def mixed_scripts(value: str) -> tuple[str, str] | None:
    """A word and its scripts when one word mixes Latin, Cyrillic or Greek letters (a look-alike)."""
    if value.isascii():
        return None
    for word in _WORD.findall(value):
        scripts = {unicodedata.name(ch, "?").split()[0] for ch in word} & set(_CONFUSABLE_SCRIPTS)
        if len(scripts) > 1:
            return word, " and ".join(s.title() for s in sorted(scripts))
    return None


def look_alike_names(spec: CourseSpec) -> list[Finding]:
    """Organisation names with a word mixing scripts (e.g. a Latin 'a' in a Cyrillic name): two such
    names look identical and differ."""
    out: list[Finding] = []
    for i, org in enumerate(spec.organisations):
        for path, value in _variants(org.name, ("organisations", i, "name")):
            found = mixed_scripts(value)
            if found:
                out.append((path, f"the word {found[0]!r} mixes {found[1]} letters: it may look like another name"))
    return out


def look_alike_person(person: Person) -> list[tuple[str, str]]:
    """(field, warning) for a person's names with a word mixing scripts."""
    out: list[tuple[str, str]] = []
    for name in ("firstname", "lastname"):
        found = mixed_scripts(getattr(person, name))
        if found:
            out.append((name, f"the word {found[0]!r} mixes {found[1]} letters: it may look like another person's name"))
    return out
