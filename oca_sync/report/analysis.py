"""Figures of the report from the spec and a collected data set. Pure: no I/O.

Every figure says what it counts (docs/report.md):

* a person *attended* a session when the attendance record gives them a status with a
  grade above 0 other than Excused (on a default site: Present or Late);
* *completion* applies the course's ``completion`` rules to the collected attendance and
  survey submissions;
* survey answers are compared before and after per person (respondents of both the
  pre and the post survey), with a Wilcoxon signed-rank test when at least
  ``MIN_TEST_PAIRS`` people changed their answer;
* campaign totals add check-ins and metrics files; a file's number replaces a check-in's
  for the same date, organisation, platform and metric (the report says how many).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..spec import LoadedSpec
from ..drive.layout import identity
from ..spec.models import METRICS, Campaign, Course, FileContent, Question, Session, Survey
from ..spec.multilang import plain
from .dataset import ArchivedFile, AttendanceRow, Dataset, Metric, Response

#: Wilcoxon's signed-rank test needs this many non-zero differences before it can say anything
#: at the 5% level (with 5 pairs the smallest two-sided exact p-value is 0.0625).
MIN_TEST_PAIRS = 6
EXCUSED = "E"


def attended(row: AttendanceRow) -> bool:
    return row.grade > 0 and row.status != EXCUSED


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    email: str
    org: str  # organisation key, "" for staff
    org_name: str
    role: str


def pseudonym(programme: str, key: str) -> str:
    """Stable across runs and reports of the same programme; not reversible without the spec."""
    return "P-" + hashlib.sha256(f"{programme}:{key}".encode()).hexdigest()[:6].upper()


def people(loaded: LoadedSpec, lang: str, anonymise: bool) -> dict[str, Person]:
    langs = loaded.spec.programme.languages
    prog = loaded.spec.programme.key
    out: dict[str, Person] = {}
    for org in loaded.spec.organisations:
        org_name = plain(org.name, lang, langs)
        for m in loaded.members.get(org.key, ()):
            name = pseudonym(prog, m.key) if anonymise else f"{m.firstname} {m.lastname}"
            out[m.key] = Person(m.key, name, "" if anonymise else m.email, org.key, org_name, m.role)
    for s in loaded.spec.staff:
        name = f"{s.firstname} {s.lastname}"  # staff act in their professional role: named in every report
        out[s.key] = Person(s.key, name, "" if anonymise else s.email, "", "", s.role)
    return out


# --------------------------------------------------------------------------- the archive


def split_archive(loaded: LoadedSpec, data: Dataset) -> tuple[
        dict[tuple[str, str, str], list[ArchivedFile]], list[tuple[ArchivedFile, tuple[str, str]]]]:
    """Materials by (course, session, item), found by their source key as the archive builds it
    (and its older form), and recordings with their (course, session) from the ledger's session key."""
    p = loaded.spec.programme
    sources: dict[str, tuple[str, str, str]] = {}
    for course in loaded.spec.courses:
        for s in loaded.sessions.get(course.shortname, ()):
            for c in s.content:
                if isinstance(c, FileContent):
                    where = (course.shortname, s.key, c.key)
                    sources[identity("material", p.key_prefix, p.key, course.shortname, s.key, c.key)] = where
                    sources.setdefault(f"material:{p.key}:{s.key}:{c.key}", where)
    prefix = f"{p.key_prefix}:{p.key}:"
    files: dict[tuple[str, str, str], list[ArchivedFile]] = defaultdict(list)
    recordings: list[tuple[ArchivedFile, tuple[str, str]]] = []
    for f in data.archive:
        if f.key in sources:
            files[sources[f.key]].append(f)
        elif f.session.startswith(prefix):
            course_key, _, session_key = f.session[len(prefix):].rpartition(":")
            recordings.append((f, (course_key, session_key)))
    return files, recordings


# --------------------------------------------------------------------------- sessions and attendance


@dataclass
class SessionRow:
    course: str
    key: str
    kind: str
    number: int
    title: str
    start: dt.datetime  # in the programme's zone
    duration: int
    host: str
    taken: bool
    attended: int
    expected: int  # members of the course's organisations
    recordings: list[ArchivedFile] = field(default_factory=list)
    materials: list[ArchivedFile] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.attended / self.expected if self.taken and self.expected else None


@dataclass
class PersonAttendance:
    person: Person
    course: str
    by_kind: dict[str, tuple[int, int]]  # kind -> (attended, sessions taken)
    total: tuple[int, int]

    @property
    def rate(self) -> float | None:
        return self.total[0] / self.total[1] if self.total[1] else None


@dataclass
class Attendance:
    sessions: list[SessionRow]
    persons: list[PersonAttendance]
    orgs: list[tuple[str, str]]  # (key, name) in spec order
    heat: dict[tuple[str, str, str], float | None]  # (course, session, org) -> share of its members present


def course_members(loaded: LoadedSpec, course: Course, everyone: dict[str, Person]) -> list[Person]:
    out = []
    for org in loaded.spec.organisations:
        if org.courses is not None and course.shortname not in org.courses:
            continue
        out += [everyone[m.key] for m in loaded.members.get(org.key, ()) if m.role == "member"]
    return out


def sessions_and_attendance(loaded: LoadedSpec, data: Dataset, everyone: dict[str, Person], lang: str) -> Attendance:
    langs = loaded.spec.programme.languages
    files, recorded = split_archive(loaded, data)
    recordings: dict[tuple[str, str], list[ArchivedFile]] = defaultdict(list)
    for f, (course_key, session_key) in recorded:
        recordings[(course_key, session_key)].append(f)
    materials: dict[tuple[str, str], list[ArchivedFile]] = defaultdict(list)
    for (course_key, session_key, _item), found in files.items():
        materials[(course_key, session_key)] += found
    taken = {(t.course, t.session): t for t in data.taken}
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in data.attendance:
        if attended(row):
            present[(row.course, row.session)].add(row.person)
    rows: list[SessionRow] = []
    persons: list[PersonAttendance] = []
    heat: dict[tuple[str, str, str], float | None] = {}
    orgs = [(o.key, plain(o.name, lang, langs)) for o in loaded.spec.organisations]
    for course in loaded.spec.courses:
        members = course_members(loaded, course, everyone)
        keys = {p.key for p in members}
        tracked = course.attendance.sessions if course.attendance else []
        in_orgs = {org_key: {p.key for p in members if p.org == org_key} for org_key, _name in orgs}
        for s in loaded.sessions.get(course.shortname, ()):
            t = taken.get((course.shortname, s.key))
            was_taken = bool(t and t.taken_at) or bool(present[(course.shortname, s.key)])
            host = everyone[s.host].name if s.host and s.host in everyone else ""
            rows.append(SessionRow(
                course=course.shortname, key=s.key, kind=s.kind, number=s.number, title=plain(s.title, lang, langs),
                start=s.start.astimezone(loaded.tz), duration=s.duration, host=host,
                taken=was_taken and s.kind in tracked, attended=len(present[(course.shortname, s.key)] & keys),
                expected=len(members) if s.kind in tracked else 0,
                recordings=sorted(recordings.get((course.shortname, s.key), []), key=lambda f: f.name),
                materials=sorted(materials.get((course.shortname, s.key), []), key=lambda f: f.name)))
            for org_key, in_org in in_orgs.items():
                heat[(course.shortname, s.key, org_key)] = (
                    len(present[(course.shortname, s.key)] & in_org) / len(in_org)
                    if in_org and was_taken and s.kind in tracked else None)
        course_rows = [r for r in rows if r.course == course.shortname and r.taken]
        for p in members:
            by_kind: dict[str, tuple[int, int]] = {}
            for kind in tracked:
                held = [r for r in course_rows if r.kind == kind]
                by_kind[kind] = (sum(1 for r in held if p.key in present[(course.shortname, r.key)]), len(held))
            total = (sum(a for a, _ in by_kind.values()), sum(b for _, b in by_kind.values()))
            persons.append(PersonAttendance(p, course.shortname, by_kind, total))
    return Attendance(rows, persons, orgs, heat)


# --------------------------------------------------------------------------- completion


@dataclass
class CompletionRow:
    person: Person
    course: str
    parts: list[tuple[str, bool, str]]  # (rule, met, detail)
    #: Moodle's own record (course completion criteria met), None when it was not collected
    moodle: bool | None = None

    @property
    def complete(self) -> bool:
        """By the spec's rules applied to the collected attendance and submissions."""
        return all(met for _r, met, _d in self.parts)

    @property
    def agrees(self) -> bool:
        return self.moodle is None or self.moodle == self.complete


@dataclass
class CompletionSummary:
    """The completion figure: Moodle's when collected, else the spec's rules; and where they differ."""

    total: int
    by_rules: int
    by_moodle: int | None  # None: Moodle's completion was not collected
    differ: list[CompletionRow]

    @property
    def completed(self) -> int:
        return self.by_rules if self.by_moodle is None else self.by_moodle


def completion_summary(rows: list[CompletionRow]) -> CompletionSummary:
    read = [r for r in rows if r.moodle is not None]
    return CompletionSummary(total=len(rows), by_rules=sum(1 for r in rows if r.complete),
                             by_moodle=sum(1 for r in read if r.moodle) if read else None,
                             differ=[r for r in rows if not r.agrees])


def completion(loaded: LoadedSpec, att: Attendance, data: Dataset, everyone: dict[str, Person],
               lang: str) -> list[CompletionRow]:
    langs = loaded.spec.programme.languages
    submitted = {(r.course, r.survey, r.person) for r in data.responses if r.person}
    moodle = {(c.course, c.person): c.completed for c in data.completion}
    read = {c.course for c in data.completion}
    out = []
    for course in loaded.spec.courses:
        rules = course.completion
        if rules is None:
            continue
        titles = {s.key: plain(s.title, lang, langs) for s in course.surveys}
        by_person = {(pa.person.key, pa.course): pa for pa in att.persons}
        for p in course_members(loaded, course, everyone):
            parts: list[tuple[str, bool, str]] = []
            pa = by_person.get((p.key, course.shortname))
            for rule in rules.attend:
                got = pa.by_kind.get(rule.kind, (0, 0))[0] if pa else 0
                parts.append((f"attend:{rule.kind}", got >= rule.at_least, f"{got}/{rule.at_least}"))
            for key in rules.surveys:
                done = (course.shortname, key, p.key) in submitted
                parts.append((f"survey:{titles.get(key, key)}", done, ""))
            # A person Moodle does not track (no record while others have one) has not completed there.
            in_moodle = bool(moodle.get((course.shortname, p.key))) if course.shortname in read else None
            out.append(CompletionRow(p, course.shortname, parts, in_moodle))
    return out


# --------------------------------------------------------------------------- surveys


@dataclass
class Paired:
    n: int
    mean: float | None
    median: float | None
    improved: int
    worse: int
    p_value: float | None
    note: str  # why there is no test, or how it was done


@dataclass
class QuestionResult:
    key: str
    text: str
    type: str
    labels: list[str]  # the answer values in order (choices, rating values)
    pre: dict[str, Counter[str]]  # org key ("" = everybody) -> value -> count
    post: dict[str, Counter[str]]
    numbers_pre: list[float]
    numbers_post: list[float]
    paired: dict[str, Paired]  # org key ("" = everybody) -> paired change
    texts: list[tuple[str, str, str]]  # (survey kind, organisation name, text)
    diffs: dict[str, list[float]] = field(default_factory=dict)  # org key -> after minus before, per person
    answered: dict[str, int] = field(default_factory=dict)  # "pre"/"post" -> responses that answered it


@dataclass
class SurveyResults:
    course: str
    pre_title: str
    post_title: str
    respondents: dict[str, int]  # "pre"/"post"/"paired" -> people
    anonymous: int
    questions: list[QuestionResult]


def _labels(q: Question, lang: str, langs: Sequence[str]) -> list[str]:
    if q.type == "rating" and not q.options:
        low, high = q.min if q.min is not None else 1, q.max if q.max is not None else 5
        return [str(v) for v in range(low, high + 1)]
    return [plain(o, lang, langs) for o in q.options]


def decode(q: Question, raw: str | None, labels: list[str]) -> list[str]:
    """feedback_value.value as the labels it stands for (choices are 1-based indexes)."""
    if raw is None or raw == "":
        return []
    if q.type in ("multichoice", "multichoice_multi", "rating"):
        out = []
        for part in raw.split("|"):
            if part.isdigit() and 0 < int(part) <= len(labels):
                out.append(labels[int(part) - 1])
        return out
    return [raw]


def score(q: Question, raw: str | None, labels: list[str]) -> float | None:
    """A number for rating (the value of the chosen step) and numeric questions."""
    values = decode(q, raw, labels)
    if not values or q.type not in ("rating", "numeric"):
        return None
    try:
        return float(values[0])
    except ValueError:  # a rating with text options: the position counts
        return float(labels.index(values[0]) + 1) if values[0] in labels else None


def paired_change(diffs: list[float]) -> Paired:
    if not diffs:
        return Paired(0, None, None, 0, 0, None, "no one answered both surveys")
    nonzero = [d for d in diffs if d != 0]
    mean, median = statistics.fmean(diffs), statistics.median(diffs)
    up, down = sum(1 for d in diffs if d > 0), sum(1 for d in diffs if d < 0)
    if len(nonzero) < MIN_TEST_PAIRS:
        return Paired(len(diffs), mean, median, up, down, None,
                      f"too few changed answers for a test ({len(nonzero)}; at least {MIN_TEST_PAIRS} needed)")
    from scipy.stats import wilcoxon  # heavy import, only when a test is run

    # Exact distribution without ties (up to 50 pairs); with ties (usual on a 1-5 scale) the normal
    # approximation with tie correction: scipy's "auto" would run a slow permutation test instead.
    ties = len({abs(d) for d in nonzero}) < len(nonzero)
    method = "exact" if not ties and len(nonzero) <= 50 else "asymptotic"
    result = wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided", method=method)
    how = "exact" if method == "exact" else "normal approximation"
    return Paired(len(diffs), mean, median, up, down, float(result.pvalue),
                  f"Wilcoxon signed-rank, two-sided, {how}, {len(nonzero)} non-zero differences")


def surveys(loaded: LoadedSpec, data: Dataset, everyone: dict[str, Person], lang: str) -> list[SurveyResults]:
    langs = list(loaded.spec.programme.languages)
    out = []
    for course in loaded.spec.courses:
        pre = next((s for s in course.surveys if s.kind == "pre"), None)
        post = next((s for s in course.surveys if s.kind == "post"), None)
        if pre is None and post is None:
            continue
        got = {k: [r for r in data.responses if r.course == course.shortname and s is not None and r.survey == s.key]
               for k, s in (("pre", pre), ("post", post))}
        last = {k: _latest(v) for k, v in got.items()}
        questions: list[QuestionResult] = []
        seen: list[str] = []
        for s in (pre, post):
            for q in (s.questions if s else []):
                if q.type != "info" and q.key not in seen:
                    seen.append(q.key)
        for key in seen:
            qpre = _question(pre, key)
            qpost = _question(post, key)
            found = qpost or qpre
            assert found is not None
            q = found
            labels = _labels(q, lang, langs)
            res = QuestionResult(key=key, text=plain(q.text, lang, langs), type=q.type, labels=labels,
                                 pre=defaultdict(Counter), post=defaultdict(Counter), numbers_pre=[], numbers_post=[],
                                 paired={}, texts=[])
            for kind, sq, nums, dist in (("pre", qpre, res.numbers_pre, res.pre),
                                         ("post", qpost, res.numbers_post, res.post)):
                if sq is None:
                    continue
                for r in got[kind]:
                    raw = r.answers.get(key)
                    org = everyone[r.person].org if r.person in everyone else ""
                    org_name = everyone[r.person].org_name if r.person in everyone else ""
                    if q.type in ("text", "textarea"):
                        if raw and raw.strip():
                            res.texts.append((kind, org_name, raw.strip()))
                        continue
                    values = decode(sq, raw, labels)
                    if values:
                        res.answered[kind] = res.answered.get(kind, 0) + 1
                    for value in values:
                        dist[""][value] += 1
                        if org:
                            dist[org][value] += 1
                    number = score(sq, raw, labels)
                    if number is not None:
                        nums.append(number)
            if qpre is not None and qpost is not None and q.type in ("rating", "numeric"):
                diffs: dict[str, list[float]] = defaultdict(list)
                for person, before in last["pre"].items():
                    after = last["post"].get(person)
                    if after is None:
                        continue
                    a, b = score(qpre, before.answers.get(key), labels), score(qpost, after.answers.get(key), labels)
                    if a is None or b is None:
                        continue
                    diffs[""].append(b - a)
                    if person in everyone and everyone[person].org:
                        diffs[everyone[person].org].append(b - a)
                res.diffs = dict(diffs)
                res.paired = {org: paired_change(d) for org, d in diffs.items()}
                res.paired.setdefault("", paired_change([]))
            questions.append(res)
        langs_ = langs
        out.append(SurveyResults(
            course=course.shortname, pre_title=plain(pre.title, lang, langs_) if pre else "",
            post_title=plain(post.title, lang, langs_) if post else "",
            respondents={"pre": len(last["pre"]), "post": len(last["post"]),
                         "paired": len(set(last["pre"]) & set(last["post"]))},
            anonymous=sum(1 for v in got.values() for r in v if r.person is None),
            questions=questions))
    return out


def combine(results: list[SurveyResults], title: str) -> SurveyResults:
    """All courses together, question by question key (a programme asks the same questions in each course)."""
    out = SurveyResults(course="", pre_title=title, post_title="", respondents={}, anonymous=0, questions=[])
    merged: dict[str, QuestionResult] = {}
    for sr in results:
        for k, v in sr.respondents.items():
            out.respondents[k] = out.respondents.get(k, 0) + v
        out.anonymous += sr.anonymous
        for q in sr.questions:
            m = merged.get(q.key)
            if m is None:
                m = merged[q.key] = QuestionResult(q.key, q.text, q.type, list(q.labels), defaultdict(Counter),
                                                   defaultdict(Counter), [], [], {}, [], defaultdict(list))
                out.questions.append(m)
            for mine, theirs in ((m.pre, q.pre), (m.post, q.post)):
                for org, counts in theirs.items():
                    mine[org].update(counts)
            for k, v in q.answered.items():
                m.answered[k] = m.answered.get(k, 0) + v
            m.numbers_pre += q.numbers_pre
            m.numbers_post += q.numbers_post
            m.texts += q.texts
            for org, d in q.diffs.items():
                m.diffs[org] += d
    for m in out.questions:
        if m.diffs:
            m.paired = {org: paired_change(d) for org, d in m.diffs.items()}
    return out


def _question(survey: Survey | None, key: str) -> Question | None:
    return next((q for q in survey.questions if q.key == key), None) if survey else None


def _latest(responses: Iterable[Response]) -> dict[str, Response]:
    """A person's last submission counts (Moodle allows several when the survey is multiple-submit)."""
    out: dict[str, Response] = {}
    for r in sorted(responses, key=lambda r: (r.submitted, r.response_id)):
        if r.person:
            out[r.person] = r
    return out


# --------------------------------------------------------------------------- campaigns


@dataclass
class CampaignResult:
    org: str
    org_name: str
    campaign: Campaign
    title: str
    totals: dict[str, float]
    targets: dict[str, int]
    weekly: dict[str, list[tuple[dt.date, float]]]  # metric -> (week ending, cumulative total)
    rows: list[Metric]
    notes: list[tuple[str, str]]  # (week, text) from check-ins: best posts and notes

    def progress(self, metric: str) -> float | None:
        target = self.targets.get(metric)
        return self.totals.get(metric, 0.0) / target if target else None


@dataclass
class Campaigns:
    results: list[CampaignResult]
    superseded: int  # check-in numbers replaced by a metrics file's
    unattributed: int  # check-ins from people of no organisation with a campaign
    undated: int = 0  # check-ins with neither a date answer nor a submission time (anonymous)


def week_end(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=6 - day.weekday())


def checkin_metrics(loaded: LoadedSpec, data: Dataset, everyone: dict[str, Person]
                    ) -> tuple[list[Metric], list[Any], int]:
    """Numbers from check-in surveys, the (org, date, text) of their other answers, and how many
    responses had no date (no valid ``date`` answer and, anonymous, no submission time)."""
    langs = list(loaded.spec.programme.languages)
    rows: list[Metric] = []
    texts: list[Any] = []
    undated = 0
    for course in loaded.spec.courses:
        for survey in course.surveys:
            if survey.kind != "checkin":
                continue
            qs = {q.key: q for q in survey.questions}
            for r in data.responses:
                if r.course != course.shortname or r.survey != survey.key:
                    continue
                # A response to an organisation's own check-in is that organisation's, whoever (or anonymous) sent it.
                org = r.group or (everyone[r.person].org if r.person in everyone else "")
                day = _day(r.answers.get("date")) or (
                    dt.datetime.fromtimestamp(r.submitted, loaded.tz).date() if r.submitted else None)
                if day is None:
                    undated += 1
                    continue
                platform = ""
                if "platform" in qs:
                    labels = _labels(qs["platform"], langs[0], langs)
                    values = decode(qs["platform"], r.answers.get("platform"), labels)
                    platform = values[0].strip().lower() if values else ""
                for metric in METRICS:
                    raw = r.answers.get(metric)
                    if metric in qs and raw not in (None, ""):
                        try:
                            value = float(str(raw))
                        except ValueError:
                            continue
                        rows.append(Metric(day.isoformat(), org, platform, metric, value,
                                           f"check-in {r.response_id}"))
                for key, q in qs.items():
                    if key not in METRICS and key not in ("date", "platform") and q.type in ("text", "textarea"):
                        text = (r.answers.get(key) or "").strip()
                        if text:
                            texts.append((org, day, platform, text))
    return rows, texts, undated


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def campaigns(loaded: LoadedSpec, data: Dataset, everyone: dict[str, Person], lang: str) -> Campaigns:
    langs = loaded.spec.programme.languages
    checkins, texts, undated = checkin_metrics(loaded, data, everyone)
    from_files = {(m.date, m.organisation, m.platform, m.metric) for m in data.metrics}
    kept = [m for m in checkins if (m.date, m.organisation, m.platform, m.metric) not in from_files]
    superseded = len(checkins) - len(kept)
    with_campaign = {o.key for o in loaded.spec.organisations if o.campaign}
    unattributed = sum(1 for m in kept if m.organisation not in with_campaign)
    rows = [m for m in kept if m.organisation in with_campaign] + list(data.metrics)
    results = []
    for org in loaded.spec.organisations:
        if org.campaign is None:
            continue
        mine = sorted((m for m in rows if m.organisation == org.key), key=lambda m: (m.date, m.platform, m.metric))
        totals = {metric: sum(m.value for m in mine if m.metric == metric) for metric in METRICS}
        weekly: dict[str, list[tuple[dt.date, float]]] = {}
        for metric in METRICS:
            per_week: dict[dt.date, float] = defaultdict(float)
            for m in mine:
                if m.metric == metric:
                    per_week[week_end(dt.date.fromisoformat(m.date))] += m.value
            running, series = 0.0, []
            for week in sorted(per_week):
                running += per_week[week]
                series.append((week, running))
            weekly[metric] = series
        targets = {k: v for k, v in org.campaign.targets.model_dump().items() if v is not None}
        notes = [(f"{d:%Y-%m-%d} {p}".strip(), t) for o, d, p, t in sorted(texts, key=lambda x: x[1]) if o == org.key]
        results.append(CampaignResult(org.key, plain(org.name, lang, langs), org.campaign,
                                      plain(org.campaign.title, lang, langs), totals, targets, weekly, mine, notes))
    return Campaigns(results, superseded, unattributed, undated)


def session_of(loaded: LoadedSpec, key: str) -> tuple[Course, Session] | None:
    for course in loaded.spec.courses:
        for s in loaded.sessions.get(course.shortname, ()):
            if s.key == key:
                return course, s
    return None
