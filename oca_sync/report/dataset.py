"""The report's data set: what ``report collect`` read, kept in the state store.

One JSON document per programme (versioned), so that it can be inspected and a
report re-rendered offline. Names, organisations, titles and questions are not
copied here: they come from the spec when the report is built.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, delete, insert, select

from ..errors import StateError, UsageError
from ..state import StateStore, metadata

FORMAT = 1

datasets = Table(
    "report_datasets",
    metadata,
    Column("programme", String(200), primary_key=True),
    Column("format", Integer, nullable=False),
    Column("collected_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
)


@dataclass
class Source:
    """Where a part of the data came from, for the report's "data sources" section."""

    name: str
    detail: str
    at: str  # ISO time of the read
    calls: int = 0
    rows: int = 0


@dataclass
class AttendanceRow:
    """One person's status in one session, as the attendance record holds it."""

    course: str
    session: str
    person: str
    status: str  # the status acronym (P, A, L, E on a default site)
    description: str
    grade: float
    source: str = "moodle"  # where the row came from (Moodle's attendance activity)
    minutes: int | None = None  # time in the meeting, when a source knows it (Zoom participant reports)
    userid: int = 0  # the Moodle user


@dataclass
class TakenSession:
    course: str
    session: str
    taken_at: int  # Unix time attendance was last taken (0: never)
    listed: int  # people the attendance activity lists for the session


@dataclass
class Response:
    """One submitted survey: answers by question key, raw as Moodle stores them."""

    course: str
    survey: str
    response_id: int
    person: str | None  # None: anonymous, or a user who is not in the spec
    submitted: int
    answers: dict[str, str | None]
    #: the organisation whose check-in activity holds the response (its group's own); None for other surveys
    group: str | None = None


@dataclass
class MoodleCompletion:
    """One person's completion of a course as Moodle records it (report/completion.py)."""

    course: str
    person: str
    completed: bool
    timecompleted: int  # Unix time, 0 when not completed (or when core does not say)
    #: activity key (as in the spec: a survey's key, the attendance's key) -> Moodle's completion state:
    #: 1 complete, 2 complete with a pass grade, 3 complete with a fail grade (incomplete: absent)
    activities: dict[str, int]
    source: str  # "plugin" (one call per course) or "core" (per person)


@dataclass
class ArchivedFile:
    key: str
    session: str  # the session's full key (prefix:programme:course:session), or a material's
    name: str
    link: str
    size: int
    md5: str
    archived_at: str


@dataclass
class Metric:
    date: str  # YYYY-MM-DD
    organisation: str
    platform: str
    metric: str
    value: float
    source: str  # "file.csv:12"


@dataclass
class Dataset:
    programme: str
    collected_at: str
    sources: list[Source] = field(default_factory=list)
    attendance: list[AttendanceRow] = field(default_factory=list)
    taken: list[TakenSession] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    archive: list[ArchivedFile] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    #: Moodle's own completion figures, when collected (empty: none, or courses without rules)
    completion: list[MoodleCompletion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be collected, said in the report
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Dataset:
        raw: dict[str, Any] = json.loads(text)
        if raw.get("format") != FORMAT:
            raise StateError(f"the collected data has format {raw.get('format')}, this oca-sync reads {FORMAT}: "
                             "run oca-sync report collect again")
        return cls(
            programme=raw["programme"], collected_at=raw["collected_at"],
            sources=[Source(**x) for x in raw["sources"]],
            attendance=[AttendanceRow(**x) for x in raw["attendance"]],
            taken=[TakenSession(**x) for x in raw["taken"]],
            responses=[Response(**x) for x in raw["responses"]],
            archive=[ArchivedFile(**x) for x in raw["archive"]],
            metrics=[Metric(**x) for x in raw["metrics"]],
            completion=[MoodleCompletion(**x) for x in raw.get("completion") or []],  # absent before completion
            notes=list(raw.get("notes") or []),
        )


def save(store: StateStore, data: Dataset) -> None:
    metadata.create_all(store.engine, tables=[datasets])
    with store.engine.begin() as conn:
        conn.execute(delete(datasets).where(datasets.c.programme == data.programme))
        conn.execute(insert(datasets).values(programme=data.programme, format=data.format,
                                             collected_at=dt.datetime.fromisoformat(data.collected_at),
                                             data=data.to_json()))


def load(store: StateStore, programme: str) -> Dataset:
    metadata.create_all(store.engine, tables=[datasets])
    with store.engine.connect() as conn:
        row = conn.execute(select(datasets.c.data).where(datasets.c.programme == programme)).first()
    if row is None:
        raise UsageError(f"nothing collected for programme {programme!r} in the state store {store.url}: "
                         "run oca-sync report collect SPEC first")
    return Dataset.from_json(row[0])
