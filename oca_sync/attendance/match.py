"""Match the people of a Zoom participant report to a course's Moodle users.

Pure: no I/O. Record linkage in four steps, each a function tested alone:

1. **parse** a display name: drop role suffixes (``(host)``, ``| Trainer``),
   device wrappers (``iPhone (Samat)``), a CSO/group prefix or suffix
   (``Kelechek - Aibek``), and tell phones, devices, guests, interpreters and
   organisation accounts from people;
2. **index** (blocking): only users sharing a name key with the display name
   are compared (same skeleton, a diminutive of it, or one edit away);
3. **compare**: one level per candidate (full name, full name with an extra
   word, one typo, first name + initial, first name only);
4. **classify**: the best level wins only when exactly one user holds it;
   otherwise the outcome is ``ambiguous`` and goes to review. Nothing is guessed.

Order of evidence for one ``(display name, e-mail)``: the e-mail of a Moodle
user, then a mapping a person confirmed earlier, then the name, then a first
name alone when one user has it; the local part of a non-Moodle e-mail only
ever adds to name evidence.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from .translit import first_name_forms, name_keys, skeleton, words


class Status(str, enum.Enum):
    MATCH = "match"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class RosterUser:
    """A Moodle user enrolled in the course (``groups``: names of the CSOs/groups they belong to)."""

    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    groups: tuple[str, ...] = ()

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()


@dataclass(frozen=True)
class Outcome:
    """What one ``(display name, e-mail)`` is: a user, several possible users, or nobody.

    ``rule`` is a stable code (``email``, ``mapping``, ``full-name`` …, see
    :data:`RULES`); ``reason`` says it in words.
    """

    status: Status
    userid: int | None
    candidates: tuple[int, ...]
    rule: str
    reason: str

    @property
    def needs_review(self) -> bool:
        """Ambiguous, or nobody although the name looks like a person's."""
        return self.status is Status.AMBIGUOUS or (self.status is Status.NONE and self.rule == "unknown")


#: Every rule code an outcome can carry, and what it means.
RULES: dict[str, str] = {
    "email": "the Zoom e-mail is a course user's e-mail",
    "shared-account": "the e-mail is one user's, the display name clearly another's",
    "mapping": "a person confirmed this name earlier (review)",
    "full-name": "first and last name (any order, transliterated, variants and diminutives)",
    "extra-word": "first and last name plus one more word (a middle name or patronymic)",
    "typo": "first and last name with one small typo",
    "initial": "first name and the initial of the last name (or the reverse)",
    "first-name": "the first name alone, which only one course user has",
    "email-local": "the e-mail's local part decided between users the name fits equally",
    "phone": "a dial-in (telephone number)",
    "device": "a device name with no person in it",
    "non-person": "a guest, interpreter, observer, recorder or similar",
    "organisation": "an organisation's or group's account",
    "empty": "no name",
    "unknown": "a person who is not a course user, or whose name fits nobody",
    "tie": "several course users fit equally well",
}

# Levels of name evidence, best first.
FULL, EXTRA, TYPO, INITIAL, FIRST = range(5)
_LEVEL_RULE = {FULL: "full-name", EXTRA: "extra-word", TYPO: "typo", INITIAL: "initial", FIRST: "first-name"}


def _skels(values: Iterable[str]) -> frozenset[str]:
    return frozenset(skeleton(v) for v in values)


#: Words that say "not a course member" (skeletons), in English, Russian and Kyrgyz.
NON_PERSON = _skels([
    "guest", "гость", "interpreter", "interpretation", "переводчик", "translator", "котормочу", "synchron",
    "observer", "наблюдатель", "recorder", "notetaker", "otter", "fireflies", "bot", "anonymous", "unknown",
    "аноним", "test", "тест", "zoom", "room", "unesco", "undp", "юнеско",
])
#: Role words shown after a name: removed, never evidence.
ROLE_WORDS = _skels([
    "host", "co", "cohost", "me", "trainer", "mentor", "moderator", "facilitator", "speaker", "organizer",
    "organiser", "admin", "coach", "expert", "тренер", "ментор", "ведущий", "ведущая", "модератор", "организатор",
    "спикер", "эксперт", "тренинг", "окутуучу",
])
#: Device and brand words (skeletons); a word with a digit counts as a model number.
DEVICE_WORDS = _skels([
    "iphone", "ipad", "ipod", "android", "galaxy", "samsung", "redmi", "xiaomi", "huawei", "honor", "pixel", "oneplus",
    "oppo", "vivo", "realme", "tecno", "infinix", "nokia", "motorola", "macbook", "mac", "laptop", "desktop", "pc",
    "tablet", "phone", "smartphone", "mobile", "note", "pro", "max", "plus", "mini", "ultra", "lite", "air", "tab",
    "poco", "lenovo", "asus", "acer", "hp", "dell", "windows", "linux", "chromebook", "телефон", "ноутбук", "планшет",
    "айфон",
])
_MODEL_RE = re.compile(r"\d")
_PHONE_RE = re.compile(r"^[\s+()\-.\d]*$")
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]")
_SEPARATORS = re.compile(r"\s+[-–—]\s+|\s*[|/\\:•·]\s*")
_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_CALL_IN = re.compile(r"^(call[- ]?in|dial[- ]?in|phone)\s*(user)?[\s_#\d]*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedName:
    """A display name taken apart: who it names (``keys``), in which group, or what it is instead."""

    keys: tuple[str, ...]
    kind: str  # person | phone | device | non-person | organisation | empty
    group: str | None = None
    removed: tuple[str, ...] = ()  # what was taken off: "role", "device", "group"


def parse_display(name: str, groups: Mapping[tuple[str, ...], str] | None = None) -> ParsedName:
    """Take a Zoom display name apart (step 1).

    ``groups`` maps the name keys of every group (see :func:`name_keys`) to
    the group's name, to recognise ``Kelechek - Aibek`` or ``Aibek (Kelechek)``.
    """
    groups = groups or {}
    text = " ".join(name.split())
    if not text:
        return ParsedName((), "empty")
    digits = sum(c.isdigit() for c in text)
    if (_PHONE_RE.match(text) and digits >= 5) or _CALL_IN.match(text):
        return ParsedName((), "phone")
    text = _POSSESSIVE.sub("", text)
    inner = _BRACKETS.findall(text)
    outside = _BRACKETS.sub(" | ", text)
    segments = [s for s in _SEPARATORS.split(outside) if s.strip()] + [s for s in inner if s.strip()]
    person: list[str] = []
    removed: list[str] = []
    group: str | None = None
    kinds: set[str] = set()
    for seg in segments:
        seg_keys = [k for k in (skeleton(w) for w in words(seg)) if k]
        raw = words(seg)
        if not seg_keys:
            continue
        if any(k in NON_PERSON for k in seg_keys):
            return ParsedName((), "non-person")
        gk = name_keys(seg)
        if gk in groups:
            group = groups[gk]
            removed.append("group")
            continue
        if all(k in ROLE_WORDS for k in seg_keys):
            removed.append("role")
            continue
        if all(skeleton(w) in DEVICE_WORDS or _MODEL_RE.search(w) for w in raw if skeleton(w) or _MODEL_RE.search(w)):
            kinds.add("device")
            removed.append("device")
            continue
        # a device or role word inside a segment ("Samat iPhone", "Trainer Aibek")
        kept = [w for w in raw if skeleton(w) not in DEVICE_WORDS and skeleton(w) not in ROLE_WORDS
                and not _MODEL_RE.search(w)]
        if len(kept) != len(raw):
            removed.append("device/role")
        person.extend(kept)
    keys = name_keys(" ".join(person))
    if keys:
        return ParsedName(keys, "person", group, tuple(removed))
    if group is not None:
        # the whole name is a group's: keep its words, a person may have that first name (Umut, Bilim …)
        only = [s for s in segments if name_keys(s)]
        return ParsedName(name_keys(only[0]) if len(only) == 1 else (), "organisation", group, tuple(removed))
    if "device" in kinds:
        return ParsedName((), "device", None, tuple(removed))
    return ParsedName((), "empty", None, tuple(removed))


def email_key(email: str) -> str:
    return "".join(email.split()).lower()


def identity_key(name: str, email: str) -> tuple[str, str]:
    """How a confirmed mapping is remembered: the display name (case and spacing ignored) and the e-mail."""
    return " ".join(name.split()).casefold(), email_key(email)


@dataclass
class _Person:
    first: tuple[str, ...]
    last: tuple[str, ...]
    first_forms: frozenset[str]


@dataclass
class RosterIndex:
    """The course's users, indexed for blocking (step 2). Build once per roster."""

    users: dict[int, RosterUser]
    by_email: dict[str, set[int]] = field(default_factory=dict)
    people: dict[int, _Person] = field(default_factory=dict)
    token_users: dict[str, set[int]] = field(default_factory=dict)
    first_users: dict[str, set[int]] = field(default_factory=dict)
    deletes: dict[str, set[str]] = field(default_factory=dict)
    group_keys: dict[tuple[str, ...], str] = field(default_factory=dict)
    group_users: dict[str, set[int]] = field(default_factory=dict)
    _key_cache: dict[str, frozenset[int]] = field(default_factory=dict)
    #: users with at most one name word (index 0), at most two (index 1): few display words suffice for them
    _short: tuple[set[int], set[int]] = field(default_factory=lambda: (set(), set()))

    @classmethod
    def build(cls, users: Iterable[RosterUser], group_aliases: Mapping[str, Iterable[str]] | None = None) -> RosterIndex:
        """Index ``users``; ``group_aliases`` gives more names for a group (its key, other languages)."""
        idx = cls({u.id: u for u in users})
        for u in idx.users.values():
            if u.email.strip():
                idx.by_email.setdefault(email_key(u.email), set()).add(u.id)
            first, last = name_keys(u.firstname), name_keys(u.lastname)
            forms = frozenset().union(*(first_name_forms(k) for k in first[:1])) if first else frozenset()
            idx.people[u.id] = _Person(first, last, forms)
            for i, limit in enumerate((1, 2)):
                if len(first) + len(last) <= limit:
                    idx._short[i].add(u.id)
            for k in (*first, *last):
                idx.token_users.setdefault(k, set()).add(u.id)
                for d in _deletions(k):
                    idx.deletes.setdefault(d, set()).add(k)
            for f in forms:
                idx.first_users.setdefault(f, set()).add(u.id)
            for g in u.groups:
                idx.group_users.setdefault(g, set()).add(u.id)
                gk = name_keys(g)
                if gk:
                    idx.group_keys[gk] = g
        for g, aliases in (group_aliases or {}).items():
            for a in aliases:
                ak = name_keys(a)
                if ak:
                    idx.group_keys.setdefault(ak, g)
        return idx

    def users_of_key(self, k: str) -> frozenset[int]:
        """Users with a name word equal to ``k``, a diminutive of it, or one edit away from it (cached)."""
        hit = self._key_cache.get(k)
        if hit is not None:
            return hit
        found = set(self.token_users.get(k, ()))
        for f in first_name_forms(k):
            found |= self.first_users.get(f, set())
        if len(k) >= 4:
            near = set().union(*(self.deletes.get(d, set()) for d in (k, *_deletions(k))))
            for t in near:
                if t != k and Levenshtein.distance(k, t, score_cutoff=1) <= 1:
                    found |= self.token_users.get(t, set())
        hit = self._key_cache[k] = frozenset(found)
        return hit

    def candidates(self, keys: tuple[str, ...], scope: set[int] | None) -> set[int]:
        """Users who could fit ``keys`` at all (blocking), a superset of those :func:`compare` accepts.

        A user fits only when all their name words but one initial meet a
        display word sharing their key: so, with two or more display words,
        users hit by at least two of them, plus users whose name is that short.
        """
        sets = [self.users_of_key(k) for k in dict.fromkeys(k for k in keys if len(k) > 1)]
        if not sets:
            return set()
        if len(keys) == 1:
            found = set(sets[0])
        else:
            found = set()
            for a, b in itertools.combinations(sets, 2):
                found |= a & b
            initials = 1 if any(len(k) == 1 for k in keys) else 0
            found |= set().union(*sets) & self._short[initials]
        return found if scope is None else found & scope


def _deletions(k: str) -> set[str]:
    """The word with one letter removed, every way (a deletion-neighbourhood index key)."""
    return {k[:i] + k[i + 1:] for i in range(len(k))} | {k}


# --------------------------------------------------------------------------- #
# Step 3: compare
# --------------------------------------------------------------------------- #

_EXACT, _DIMINUTIVE, _TYPO, _INITIAL = 0, 0, 1, 2


#: Letters an initial may show for a word whose skeleton starts so (Dzhumabaeva / Zhumabaeva → j; Kh → h; Ye → e).
_INITIAL_VARIANTS = {"j": "jdz", "h": "hk", "e": "ei", "c": "ct", "f": "fp"}


def _initials(u: str) -> str:
    return _INITIAL_VARIANTS.get(u[0], u[0]) if u else ""


@lru_cache(maxsize=500_000)
def _relation(d: str, u: str, first: bool) -> int | None:
    """How display word ``d`` fits user word ``u``: 0 same, 1 one typo, 2 initial; None: not at all."""
    if d == u:
        return _EXACT
    if first and first_name_forms(d) & first_name_forms(u):
        return _DIMINUTIVE
    if len(d) == 1:
        return _INITIAL if d in _initials(u) else None
    if min(len(d), len(u)) >= 4 and Levenshtein.distance(d, u, score_cutoff=1) <= 1:
        return _TYPO
    return None


def compare(keys: tuple[str, ...], person: _Person) -> int | None:
    """The level at which display ``keys`` name this person (FULL … FIRST), or None."""
    user = [(k, True) for k in person.first] + [(k, False) for k in person.last]
    if not user or not keys:
        return None
    if len(keys) == 1:
        if person.first and _relation(keys[0], person.first[0], True) == _EXACT and len(keys[0]) > 1:
            return FIRST
        return None
    best: int | None = None
    n = len(user)
    if len(keys) < n:
        return None
    for perm in itertools.permutations(range(len(keys)), n):
        rels = []
        for (u, first), i in zip(user, perm, strict=True):
            r = _relation(keys[i], u, first)
            if r is None:
                break
            rels.append(r)
        else:
            extra = len(keys) - n
            typos = rels.count(_TYPO)
            initials = rels.count(_INITIAL)
            if extra > 1 or typos > 1 or (typos and (initials or extra)) or initials > 1 or (initials and extra):
                continue
            if initials == len(rels):
                continue
            level = INITIAL if initials else TYPO if typos else EXTRA if extra else FULL
            best = level if best is None else min(best, level)
            if best == FULL:
                return FULL
    return best


# --------------------------------------------------------------------------- #
# Step 4: classify, with the order of evidence
# --------------------------------------------------------------------------- #


class Matcher:
    """Matches identities against one roster; outcomes are cached per ``(name, email)``."""

    def __init__(self, index: RosterIndex, mappings: Mapping[tuple[str, str], int] | None = None) -> None:
        self.index = index
        #: identity_key(name, email) -> user id (0: confirmed as not a course user)
        self.mappings = dict(mappings or {})
        self._cache: dict[tuple[str, str], Outcome] = {}

    def match(self, name: str, email: str = "") -> Outcome:
        key = (name, email)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._match(name, email)
        return hit

    def _label(self, uid: int) -> str:
        u = self.index.users[uid]
        return f"{u.fullname} ({u.username})"

    def _match(self, name: str, email: str) -> Outcome:
        idx = self.index
        parsed = parse_display(name, idx.group_keys)
        # (1) the e-mail of a course user
        owners = idx.by_email.get(email_key(email), set()) if email.strip() else set()
        if len(owners) > 1:
            ids = tuple(sorted(owners))
            return Outcome(Status.AMBIGUOUS, None, ids, "tie", f"{len(ids)} course users share the e-mail {email}")
        if owners:
            (uid,) = owners
            by_name = self._by_name(parsed, set())
            other = by_name.userid if by_name.status is Status.MATCH else None
            if (other is not None and other != uid and _LEVEL_OF.get(by_name.rule, 99) <= EXTRA
                    and compare(parsed.keys, idx.people[uid]) is None):
                return Outcome(Status.AMBIGUOUS, None, tuple(sorted((uid, other))), "shared-account",
                               f"e-mail of {self._label(uid)}, but the name is {self._label(other)}'s")
            return Outcome(Status.MATCH, uid, (uid,), "email", f"e-mail {email_key(email)}")
        # (2) a mapping a person confirmed
        for k in (identity_key(name, email), identity_key(name, "")):
            if k in self.mappings:
                uid = self.mappings[k]
                if uid == 0:
                    return Outcome(Status.NONE, None, (), "mapping", "confirmed earlier as not a course user")
                if uid in idx.users:
                    return Outcome(Status.MATCH, uid, (uid,), "mapping", f"confirmed earlier as {self._label(uid)}")
        # (3)-(5) the name, then the e-mail's local part as extra evidence
        return self._by_name(parsed, set(), email)

    def _by_name(self, parsed: ParsedName, _seen: set[int], email: str = "") -> Outcome:
        idx = self.index
        if parsed.kind == "organisation" and parsed.keys:
            as_person = self._by_name(ParsedName(parsed.keys, "person"), _seen)
            if as_person.status is not Status.NONE:
                return Outcome(Status.AMBIGUOUS, None, as_person.candidates, "tie",
                               f"the name of the group {parsed.group}, and also of course users")
        if parsed.kind != "person":
            what = {"phone": "a telephone dial-in", "device": "a device name, no person",
                    "non-person": "a guest, interpreter, observer or similar",
                    "organisation": f"the account of {parsed.group}", "empty": "no name"}[parsed.kind]
            local = self._local_only(email)
            if local is not None and parsed.kind in ("device", "empty"):
                return local
            return Outcome(Status.NONE, None, (), parsed.kind, what)
        scope = idx.group_users.get(parsed.group, set()) if parsed.group else None
        where = f" in {parsed.group}" if parsed.group else ""
        levels: dict[int, list[int]] = {}
        for uid in idx.candidates(parsed.keys, scope):
            lv = compare(parsed.keys, idx.people[uid])
            if lv is not None:
                levels.setdefault(lv, []).append(uid)
        if not levels:
            local = self._local_only(email)
            if local is not None:
                return local
            return Outcome(Status.NONE, None, (), "unknown", f"no course user{where} has this name")
        best = min(levels)
        winners = sorted(levels[best])
        rule = _LEVEL_RULE[best]
        if len(winners) == 1:
            return Outcome(Status.MATCH, winners[0], tuple(winners), rule, RULES[rule] + where)
        # (5) the local part of a non-course e-mail may decide between equals
        decided = self._local_decides(email, winners)
        if decided is not None:
            return Outcome(Status.MATCH, decided, tuple(winners), "email-local",
                           f"{len(winners)} users fit ({rule}); the e-mail {email_key(email)} names one")
        what = "have this first name" if best == FIRST else f"fit equally ({rule})"
        return Outcome(Status.AMBIGUOUS, None, tuple(winners), "tie", f"{len(winners)} course users{where} {what}")

    def _local_keys(self, email: str) -> str:
        local = email_key(email).split("@")[0]
        return "".join(skeleton(w) for w in re.split(r"[._\-+\d]+", local) if w)

    def _local_score(self, local: str, uid: int) -> int:
        p = self.index.people[uid]
        return sum(1 for k in (*p.first, *p.last) if len(k) >= 3 and k in local)

    def _local_decides(self, email: str, uids: list[int]) -> int | None:
        local = self._local_keys(email) if email.strip() else ""
        if not local:
            return None
        scores = sorted(((self._local_score(local, u), u) for u in uids), reverse=True)
        if scores[0][0] > 0 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
            return scores[0][1]
        return None

    def _local_only(self, email: str) -> Outcome | None:
        """A name that says nothing, but an e-mail whose local part names exactly one user: review it."""
        local = self._local_keys(email) if email.strip() else ""
        if not local:
            return None
        parts = [skeleton(w) for w in re.split(r"[._\-+\d]+", email_key(email).split("@")[0]) if w]
        pool: Iterable[int] = self.index.people  # "aibekasanov": every user's words are looked for in it
        if len(parts) > 1:  # "aibek.asanov": only users sharing a key with a part
            pool = set().union(*(self.index.users_of_key(p) for p in parts if len(p) > 1))
        full = [uid for uid in pool if (p := self.index.people[uid]) and (p.first or p.last)
                and self._local_score(local, uid) == len(p.first) + len(p.last)]
        if len(full) == 1:
            return Outcome(Status.AMBIGUOUS, None, tuple(full), "email-local",
                           f"only the e-mail {email_key(email)} points to {self._label(full[0])}: confirm in review")
        return None


_LEVEL_OF = {rule: lv for lv, rule in _LEVEL_RULE.items()}


def match_all(users: Iterable[RosterUser], identities: Iterable[tuple[str, str]],
              mappings: Mapping[tuple[str, str], int] | None = None) -> dict[tuple[str, str], Outcome]:
    """Outcomes for distinct ``(name, email)`` identities against ``users``."""
    m = Matcher(RosterIndex.build(users), mappings)
    return {ident: m.match(*ident) for ident in dict.fromkeys(identities)}
