"""The real OCA Kyrgyzstan 2022 spec, and the committed JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from oca_sync.spec import LoadedSpec, load_spec
from oca_sync.spec.schema import SCHEMA_DIALECT, json_schema, render, write_schema

ROOT = Path(__file__).resolve().parents[2]
OCA = ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml"
SCHEMA = ROOT / "course_spec" / "schema.json"


@pytest.fixture(scope="module")
def oca() -> LoadedSpec:
    return load_spec(OCA)


def test_oca_sessions(oca: LoadedSpec) -> None:
    [course] = oca.spec.courses
    assert course.shortname == "OCA-KG-2022"
    sessions = oca.sessions["OCA-KG-2022"]
    assert len(sessions) == 25
    assert [s.start for s in sessions] == sorted(s.start for s in sessions)
    assert len({s.key for s in sessions}) == 25

    training = [s for s in sessions if s.kind == "training"]
    assert [s.key for s in training] == [f"training-{n:02d}" for n in range(1, 13)]
    assert [s.number for s in training] == list(range(1, 13))
    assert all(dt.date(2022, 1, 15) <= s.start.date() <= dt.date(2022, 2, 15) for s in training)
    assert all((s.start.hour, s.start.minute, s.duration) == (15, 0, 90) for s in training)

    mentoring = [s for s in sessions if s.kind == "mentoring"]
    assert [s.key for s in mentoring] == [f"mentoring-{n:02d}" for n in range(1, 13)]
    assert all(dt.date(2022, 2, 1) <= s.start.date() <= dt.date(2022, 4, 30) for s in mentoring)
    assert dt.date(2022, 3, 8) not in {s.start.date() for s in mentoring}  # public holiday excluded
    assert mentoring[11].title == {
        "en": "Mentoring session 12",
        "ru": "Менторская сессия 12",
        "ky": "Менторлук сессия 12",
    }

    [event] = [s for s in sessions if s.kind == "event"]
    assert event.key == "unconference"
    assert event.start.date().month == 4 and event.start > mentoring[-1].start

    staff = {p.key: p for p in oca.spec.staff}
    assert all(s.host in staff for s in sessions)
    assert {p.role for p in staff.values()} == {"trainer", "mentor", "manager"}


def test_oca_times_are_bishkek(oca: LoadedSpec) -> None:
    first = oca.sessions["OCA-KG-2022"][0]
    assert str(oca.tz) == "Asia/Bishkek"
    assert first.start.astimezone(dt.UTC) == dt.datetime(2022, 1, 17, 9, 0, tzinfo=dt.UTC)


def test_oca_texts_are_trilingual(oca: LoadedSpec) -> None:
    assert oca.spec.programme.languages == ["en", "ru", "ky"]
    for session in oca.sessions["OCA-KG-2022"]:
        assert isinstance(session.title, dict) and set(session.title) == {"en", "ru", "ky"}
    title = oca.text(oca.sessions["OCA-KG-2022"][0].title)
    assert title.startswith('<span lang="en" class="multilang">Building an online community</span>')
    assert title.count('class="multilang"') == 3


def test_oca_organisations_and_people(oca: LoadedSpec) -> None:
    orgs = oca.spec.organisations
    assert len(orgs) == 6 and len({o.key for o in orgs}) == 6
    assert set(oca.members) == {o.key for o in orgs}
    assert all(3 <= len(members) <= 5 for members in oca.members.values())
    rostered = [o for o in orgs if o.roster]
    assert len(rostered) == 1 and not rostered[0].members and len(oca.members[rostered[0].key]) >= 3
    people = [m for ms in oca.members.values() for m in ms] + list(oca.spec.staff)
    assert len({p.key for p in people}) == len(people)
    assert all(p.email.endswith("example.org") for p in people)


def test_oca_surveys_attendance_and_materials(oca: LoadedSpec) -> None:
    [course] = oca.spec.courses
    assert [s.kind for s in course.surveys] == ["pre", "post", "checkin"]
    assert all(5 <= len(s.questions) <= 8 for s in course.surveys)
    first, last = oca.sessions["OCA-KG-2022"][0], oca.sessions["OCA-KG-2022"][-1]
    pre, post, _checkin = course.surveys
    assert pre.closes is not None and pre.closes < first.start.replace(tzinfo=None)
    mentoring_end = max(s.start for s in oca.sessions["OCA-KG-2022"] if s.kind == "mentoring")
    assert post.opens is not None and post.opens > mentoring_end.replace(tzinfo=None)
    assert course.attendance is not None
    files = [c for s in oca.sessions["OCA-KG-2022"] for c in s.content if c.type == "file"]
    assert files and all((OCA.parent / f.path).is_file() for f in files)
    assert oca.spec.drive.share_with == ["archive@unesco.example.org"]
    assert last.kind == "event"


def test_schema_file_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render(), (
        "course_spec/schema.json is stale: run python -m oca_sync.spec.schema course_spec/schema.json"
    )


def test_write_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    write_schema(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["$schema"] == SCHEMA_DIALECT and data["$id"] and data["title"]
    assert out.read_text(encoding="utf-8").endswith("}\n")


def _json_ready(value: Any) -> Any:
    """YAML gives dates and datetimes; JSON Schema sees the same values as strings."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_schema_validates_the_oca_spec() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = _json_ready(yaml.safe_load(OCA.read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_schema_rejects_what_the_models_reject() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    data = _json_ready(yaml.safe_load(OCA.read_text(encoding="utf-8")))
    data["courses"][0]["sessions"][0]["content"][0]["type"] = "video"
    data["programme"]["colour"] = "blue"
    data["courses"][0]["sessions"][1]["duration"] = "ninety"
    assert len(list(validator.iter_errors(data))) >= 3
