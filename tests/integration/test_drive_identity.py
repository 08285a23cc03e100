"""Drive keys fit Drive's limits by construction and name everything that makes an object unique.

A programme unlike the OCA example: two courses whose sessions and materials
share keys, long Russian titles, Almaty time. Against the Drive (and Zoom)
emulators over HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from oca_sync.demo import sandboxes
from oca_sync.drive.archive import FOLDER, PROGRAMME, SHA256, SOURCE, VERIFIED, Archiver
from oca_sync.drive.client import FOLDER_MIME, DriveClient
from oca_sync.drive.errors import DriveLimitExceeded
from oca_sync.drive.layout import identity, session_folder
from oca_sync.errors import ExitCode, OcaError
from oca_sync.sandbox.drive import error_body
from oca_sync.spec import LoadedSpec, load_spec
from oca_sync.state import StateStore
from oca_sync.zoom.meetings import apply_zoom, desired_meetings, observe_meetings, plan_zoom

# 70 Cyrillic letters: 140 bytes of UTF-8, more than a whole property may hold.
LONG_TITLE = "Стратегии цифровых кампаний для организаций гражданского общества Бишкек"
assert len(LONG_TITLE.encode()) > 124

SPEC = """
programme: {{key: drivekeys, name: Drive keys, languages: [ru, en], timezone: Asia/Almaty}}
moodle: {{category: {{name: Drive keys}}}}
drive: {{root_folder: Архив}}
courses:
{courses}
staff:
  - {{key: h1, firstname: Айгуль, lastname: Садыкова, email: host1@example.org, role: trainer}}
  - {{key: h2, firstname: Данияр, lastname: Омаров, email: host2@example.org, role: trainer}}
"""

COURSE = """
  - shortname: {shortname}
    fullname: Курс {shortname}
    start: 2024-02-01
    end: 2024-03-31
    sessions:
      - key: s
        kind: {kind}
        title: "{title} {{n}}"
        duration: 30
        host: {host}
        recurrence: {{rrule: "FREQ=WEEKLY;COUNT={count}", start: "2024-02-05T{hour}:00"}}
        content:
          - {{type: file, key: slides, title: Слайды, path: "{shortname}-slides.txt"}}
"""


def write_spec(tmp_path: Path, *, title: str = LONG_TITLE, count: int = 2,
               courses: tuple[str, ...] = ("KA", "KB"), kinds: tuple[str, ...] = ("training", "mentoring")) -> LoadedSpec:
    """Courses whose sessions (``s-01`` …) and materials (``slides``) have the same keys, different files."""
    body = "".join(COURSE.format(shortname=c, title=title, count=count, kind=k, hour=10 + 2 * i,
                                  host=f"h{i + 1}")
                   for i, (c, k) in enumerate(zip(courses, kinds)))
    (tmp_path / "spec.yaml").write_text(SPEC.format(courses=body), encoding="utf-8")
    for c in courses:
        (tmp_path / f"{c}-slides.txt").write_text(f"Слайды курса {c}\n", encoding="utf-8")
    return load_spec(tmp_path / "spec.yaml")


def live_files(sb) -> list[dict]:
    return [f for f in sb.drive.all_files() if not f.get("trashed") and f["mimeType"] != FOLDER_MIME]


def live_folders(sb) -> list[dict]:
    return [f for f in sb.drive.all_files() if not f.get("trashed") and f["mimeType"] == FOLDER_MIME]


def held(sb, loaded) -> object:
    zoom = sb.zoom_client()
    desired = desired_meetings(loaded)
    apply_zoom(zoom, plan_zoom(desired, observe_meetings(zoom, desired)))
    sb.zoom.recording_sizes["MP4_per_minute"] = 2_000
    sb.zoom.set_time(dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    return zoom


# -- materials ------------------------------------------------------------------------------


def test_materials_archive_with_russian_titles_and_shared_keys(tmp_path, store):
    loaded = write_spec(tmp_path)
    with sandboxes(loaded) as sb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
        env.update(sb.env(), OCA_STATE_URL=f"sqlite:///{tmp_path}/state.sqlite", XDG_CONFIG_HOME=str(tmp_path),
                   COLUMNS="200")
        cli = [sys.executable, "-m", "oca_sync.cli", "materials", "archive", str(tmp_path / "spec.yaml")]
        first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Traceback" not in first.stderr
        # each course keeps its own copy: same session key and content key, different files
        files = live_files(sb)
        assert len(files) == 4
        contents = sorted(sb.drive.content(f["id"]).decode() for f in files)
        assert contents == ["Слайды курса KA\n"] * 2 + ["Слайды курса KB\n"] * 2
        for f in files + live_folders(sb):
            for key, value in (f.get("appProperties") or {}).items():
                assert len(key.encode()) + len(value.encode()) <= 124
        sb.drive.calls.clear()
        second = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stdout + second.stderr
        assert sb.drive.calls.write_count() == 0 and len(live_files(sb)) == 4


def test_two_courses_get_their_own_session_folders(tmp_path, store):
    loaded = write_spec(tmp_path, title="Введение", count=1, kinds=("training", "training"))
    with sandboxes(loaded) as sb:
        report = Archiver(loaded, sb.drive_client(), store).archive_materials()
        assert report.count("archived") == 2
        names = sorted(f["name"] for f in live_folders(sb) if f["name"].startswith("K"))
        day = "2024-02-05"
        assert names == [f"KA 01 {day} Введение 1", f"KB 01 {day} Введение 1"]


# -- recordings -----------------------------------------------------------------------------


def test_recordings_with_russian_titles_are_archived_once(tmp_path, store):
    loaded = write_spec(tmp_path)
    with sandboxes(loaded) as sb:
        zoom = held(sb, loaded)
        a = Archiver(loaded, sb.drive_client(), store, zoom=zoom, file_types=["MP4"])
        targets = a.recording_targets()
        assert {t.course for t in targets} == {"KA", "KB"}
        report = a.archive_recordings(targets)
        assert report.count("failed") == 0 and report.count("archived") == len(targets) >= 4
        sb.drive.calls.clear()
        again = Archiver(loaded, sb.drive_client(), StateStore(f"sqlite:///{tmp_path}/fresh.sqlite"), zoom=zoom,
                         file_types=["MP4"])
        report = again.archive_recordings(again.recording_targets())
        assert report.count("skipped") == len(targets) and sb.drive.calls.write_count() == 0


# -- the 124-byte rule, on the wire and in the client -----------------------------------------


def test_the_emulator_answers_an_oversized_property_as_drive_does(tmp_path):
    with sandboxes() as sb:
        url = f"{sb.drive.root_url}drive/v3/files?supportsAllDrives=true"
        headers = {"Authorization": f"Bearer {sb.drive.token}"}
        meta = {"name": "x", "mimeType": FOLDER_MIME, "parents": [sb.drive.shared_drive_id]}
        ok = requests.post(url, json={**meta, "appProperties": {"k" * 10: "v" * 114}}, headers=headers, timeout=10)
        assert ok.status_code == 200
        before = len(sb.drive.all_files())
        refused = requests.post(url, json={**meta, "appProperties": {"ocaFolder": "я" * 58}},  # 9 + 116 bytes
                                headers=headers, timeout=10)
        assert refused.status_code == 403
        [error] = refused.json()["error"]["errors"]
        assert error["reason"] == "propertyLengthLimitExceeded" and error["domain"] == "global"
        assert "124 bytes" in error["message"]
        assert len(sb.drive.all_files()) == before  # nothing created


def test_a_limit_is_a_clear_error_never_a_traceback():
    with sandboxes() as sb:
        drive = sb.drive_client()
        with pytest.raises(DriveLimitExceeded) as e:
            drive.ensure_folder("x", sb.drive.shared_drive_id, {FOLDER: LONG_TITLE})
        assert isinstance(e.value, OcaError) and e.value.exit_code == ExitCode.ERROR
        assert "124" in str(e.value)
        assert sb.drive.calls.write_count() == 0
    body = error_body(403, "propertyLengthLimitExceeded", "Properties and app properties are limited to 124 bytes")
    err = DriveClient._error(403, body, "drive.files.create")
    assert isinstance(err, DriveLimitExceeded) and err.reason == "propertyLengthLimitExceeded"


# -- archives made with the old keys ----------------------------------------------------------


def _old_archive(sb, loaded, content_of: str) -> dict:
    """What oca-sync made before keys were digests: readable folder keys, a material key without the course
    (the copy of the course that ran last, after overwriting the other's)."""
    drive = sb.drive_client()
    p = loaded.spec.programme.key
    [session] = loaded.sessions["KA"]
    folder_name = session_folder(session, loaded)
    root = drive.ensure_folder("Архив", sb.drive.shared_drive_id, {FOLDER: p}, key=FOLDER)
    top = drive.ensure_folder("Materials", root["id"], {FOLDER: f"{p}/Materials"}, key=FOLDER)
    sess = drive.ensure_folder(folder_name, top["id"], {FOLDER: f"{p}/Materials/{folder_name}"}, key=FOLDER)
    data = (Path(loaded.path.parent) / f"{content_of}-slides.txt").read_bytes()
    return drive.create_file("KB-slides.txt", sess["id"], "text/plain", data, {
        SOURCE: f"material:{p}:{session.key}:slides", SHA256: hashlib.sha256(data).hexdigest(), VERIFIED: "1",
        PROGRAMME: p})


def test_old_archives_are_adopted_not_duplicated(tmp_path, store):
    loaded = write_spec(tmp_path, title="Введение", count=1)
    with sandboxes(loaded) as sb:
        old = _old_archive(sb, loaded, "KB")
        folders_before = {f["id"] for f in live_folders(sb)}
        report = Archiver(loaded, sb.drive_client(), store).archive_materials()
        assert report.count("failed") == 0
        # KB's file was already there: adopted, not uploaded again; KA gets its own
        assert [r.detail for r in report.rows] == ["", "unchanged (adopted)"]
        files = live_files(sb)
        assert len(files) == 2 and old["id"] in {f["id"] for f in files}
        p = loaded.spec.programme
        assert sb.drive.file(old["id"])["appProperties"][SOURCE] == identity(
            "material", p.key_prefix, p.key, "KB", "s-01", "slides")
        assert folders_before <= {f["id"] for f in live_folders(sb)}  # the old folders are used
        assert not any(f["appProperties"][FOLDER].startswith(f"{p.key}/") for f in live_folders(sb)
                       if f["appProperties"][FOLDER] != p.key), "every adopted folder carries its new key"
        sb.drive.calls.clear()
        again = Archiver(loaded, sb.drive_client(), StateStore(f"sqlite:///{tmp_path}/b.sqlite")).archive_materials()
        assert again.count("skipped") == 2 and sb.drive.calls.write_count() == 0


def test_an_old_copy_no_course_matches_is_replaced(tmp_path, store):
    loaded = write_spec(tmp_path, title="Введение", count=1)
    with sandboxes(loaded) as sb:
        (tmp_path / "KB-slides.txt").write_text("старая версия", encoding="utf-8")
        old = _old_archive(sb, loaded, "KB")
        (tmp_path / "KB-slides.txt").write_text("новая версия", encoding="utf-8")
        report = Archiver(loaded, sb.drive_client(), store).archive_materials()
        assert report.count("archived") == 2
        assert sb.drive.file(old["id"])["trashed"] is True  # an older version: in Drive's trash, recoverable
        assert sorted(sb.drive.content(f["id"]).decode() for f in live_files(sb)) == ["Слайды курса KA\n",
                                                                                     "новая версия"]


# -- no-op costs (issue 12): independent of the number of sessions and files -------------------


def _noop_costs(tmp_path: Path, count: int) -> tuple[list[str], list[str], list[str]]:
    tmp_path.mkdir()
    loaded = write_spec(tmp_path, title="Введение", count=count)
    with sandboxes(loaded) as sb:
        store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
        zoom = sb.zoom_client()
        desired = desired_meetings(loaded)
        apply_zoom(zoom, plan_zoom(desired, observe_meetings(zoom, desired)))
        sb.zoom.calls.clear()
        assert not plan_zoom(desired, observe_meetings(zoom, desired)).changes
        zoom_calls = [name for name, _ in sb.zoom.calls]
        Archiver(loaded, sb.drive_client(), store).archive_materials()
        sb.drive.calls.clear()
        assert Archiver(loaded, sb.drive_client(), store).archive_materials().count("skipped") == 2 * count
        materials = sb.drive.calls.names()
        sb.zoom.recording_sizes["MP4_per_minute"] = 2_000
        sb.zoom.set_time(dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
        a = Archiver(loaded, sb.drive_client(), store, zoom=zoom, file_types=["MP4"])
        a.archive_recordings(a.recording_targets())
        targets = a.recording_targets()
        sb.drive.calls.clear()
        assert a.archive_recordings(targets).count("skipped") == len(targets) >= 2 * count
        recordings = sb.drive.calls.names()
    return zoom_calls, materials, recordings


def test_noop_costs_do_not_grow_with_sessions_or_files(tmp_path):
    small = _noop_costs(tmp_path / "small", 1)
    large = _noop_costs(tmp_path / "large", 6)
    zoom_calls, materials, recordings = small
    assert zoom_calls == ["GET /users/{userId}/meetings"] * 2  # one listing per host
    assert materials == ["GET /drive/v3/files"] == recordings  # one listing per archive
    assert large == small
