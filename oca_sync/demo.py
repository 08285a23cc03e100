"""The built-in sandbox as a whole (Moodle, Zoom and Drive emulators), for `oca-sync demo` and `oca-sync sandbox`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .config import SiteOptions
from .drive.archive import ArchiveReport, Archiver, Progress
from .drive.client import DriveClient
from .errors import UsageError
from .moodle.client import MoodleClient
from .moodle.model import Keys
from .sandbox.drive import DriveSandbox
from .sandbox.moodle import MoodleSandbox
from .sandbox.zoom import ZoomSandbox
from .spec import LoadedSpec
from .spec.checkins import survey_activities
from .state import StateStore
from .zoom.client import ZoomClient

DEMO_SPEC = "oca-kyrgyzstan-2022.yaml"


def default_spec() -> Path:
    """The spec in ./course_spec when run from a checkout, else the copy installed with the package."""
    local = Path("course_spec") / DEMO_SPEC
    if local.is_file():
        return local
    packaged = resources.files("oca_sync").joinpath("course_spec", DEMO_SPEC)
    if packaged.is_file():
        return Path(str(packaged))
    raise UsageError(f"cannot find {DEMO_SPEC}; pass the spec to use: oca-sync demo PATH")


@dataclass
class Sandboxes:
    moodle: MoodleSandbox
    zoom: ZoomSandbox
    drive: DriveSandbox

    def moodle_client(self) -> MoodleClient:
        return MoodleClient(self.moodle.url, self.moodle.token)

    def zoom_client(self) -> ZoomClient:
        z = self.zoom.credentials()
        return ZoomClient(z["account_id"], z["client_id"], z["client_secret"], api_base=z["api_base"],
                          oauth_url=z["oauth_url"])

    def drive_client(self) -> DriveClient:
        return DriveClient.for_sandbox(self.drive.root_url, self.drive.token, shared_drive_id=self.drive.shared_drive_id)

    def site(self) -> SiteOptions:
        return self.moodle.site_options()

    def env(self) -> dict[str, str]:
        """The settings that point oca-sync at these sandboxes."""
        z = self.zoom.credentials()
        return {
            "OCA_MOODLE_URL": self.moodle.url, "OCA_MOODLE_TOKEN": self.moodle.token,
            "OCA_MOODLE_LANGUAGES": ",".join(self.site().languages),
            "OCA_ZOOM_ACCOUNT_ID": z["account_id"], "OCA_ZOOM_CLIENT_ID": z["client_id"],
            "OCA_ZOOM_CLIENT_SECRET": z["client_secret"], "OCA_ZOOM_API_URL": z["api_base"],
            "OCA_ZOOM_OAUTH_URL": z["oauth_url"],
            "OCA_DRIVE_API_URL": self.drive.root_url, "OCA_DRIVE_TOKEN": self.drive.token,
            "OCA_DRIVE_SHARED_DRIVE_ID": self.drive.shared_drive_id,
        }


def hosts_of(loaded: LoadedSpec | None) -> list[str]:
    if loaded is None:
        return ["host1@example.org", "host2@example.org"]
    return sorted({s.zoom_user or s.email for s in loaded.spec.staff})


@contextmanager
def sandboxes(loaded: LoadedSpec | None = None, *, moodle_port: int = 0, zoom_port: int = 0,
              drive_port: int = 0, langs: tuple[str, ...] = ("en", "ru", "ky")) -> Iterator[Sandboxes]:
    """Start the emulators; with a spec, its staff are Zoom users and Zoom's clock is set two weeks
    before the programme starts, so that its sessions are upcoming meetings. ``langs`` are the
    language packs the Moodle emulator has installed."""
    with ExitStack() as stack:
        moodle = stack.enter_context(MoodleSandbox(langs=langs, multilang_filter=True, filterall=True,
                                                   port=moodle_port))
        zoom = ZoomSandbox(users=hosts_of(loaded), port=zoom_port)
        if loaded is not None:
            first = min(c.start for c in loaded.spec.courses)
            zoom.set_time(dt.datetime(first.year, first.month, first.day, tzinfo=dt.timezone.utc)
                          - dt.timedelta(days=14))
        stack.enter_context(zoom)
        drive = stack.enter_context(DriveSandbox(port=drive_port))
        yield Sandboxes(moodle, zoom, drive)


def archive_after_programme(
    sb: Sandboxes, loaded: LoadedSpec, store: StateStore, zoom: ZoomClient, progress: Progress | None = None
) -> tuple[ArchiveReport, ArchiveReport, list[str]]:
    """Move Zoom's clock a week past the programme (its meetings were held and recorded), then
    archive recordings and materials to the Drive sandbox and share the archive."""
    last = max(c.end for c in loaded.spec.courses)
    sb.zoom.set_time(dt.datetime(last.year, last.month, last.day, tzinfo=dt.timezone.utc) + dt.timedelta(days=7))
    archiver = Archiver(loaded, sb.drive_client(), store, zoom=zoom, progress=progress)
    recordings = archiver.archive_recordings(archiver.recording_targets())
    materials = archiver.archive_materials()
    return recordings, materials, archiver.share()


def give_participants(sb: Sandboxes, loaded: LoadedSpec, zoom: ZoomClient) -> int:
    """Tell the Zoom emulator who attended each session (the spec's members, as Zoom shows people)."""
    from .attendance.sandbox_people import session_people
    from .zoom.meetings import desired_meetings, observe_meetings

    found = observe_meetings(zoom, desired_meetings(loaded))
    keys = Keys(loaded.spec.programme.key_prefix, loaded.spec.programme.key)
    sessions = {keys.event(c, s.key): (c, s) for c, ss in loaded.sessions.items() for s in ss}
    n = 0
    for key, meetings in found.items():
        if key not in sessions:
            continue
        course, s = sessions[key]
        for m in meetings:
            if m.id is not None:
                sb.zoom.set_participants(m.id, session_people(loaded, s.number, s.duration, course))
                n += 1
    return n


def attendance_after_programme(sb: Sandboxes, loaded: LoadedSpec, store: StateStore, client: MoodleClient,
                               zoom: ZoomClient) -> tuple[Any, Any, Any]:
    """Fill every register from the Zoom emulator's participant reports, then plan again (must write nothing)."""
    from .attendance import sync as att

    now = sb.zoom.now()
    first = att.prepare(client, zoom, loaded, store, now=now)
    result = att.apply(client, first, store)
    again = att.prepare(client, zoom, loaded, store, now=now)
    return first, result, again
def apply_after_registers(sb: Sandboxes, loaded: LoadedSpec, store: StateStore, client: MoodleClient,
                          zoom: ZoomClient) -> Any:
    """Apply again once the programme is over and its registers are taken: what changes is completion
    (the attendance activity becomes a course criterion only then, moodle/completion.py)."""
    from . import sync

    return sync.apply(client, loaded, sb.site(), store, hooks=sync.Hooks(confirm=lambda _p: True),
                      zoom=zoom, now=sb.zoom.now)


def seed_outcomes(sb: Sandboxes, loaded: LoadedSpec, *, seed: int = 2022, attendance: bool = True) -> dict[str, int]:
    """What the programme's people did, made up in the Moodle sandbox after an apply: attendance
    taken in every session (unless ``attendance`` is false: the registers were filled from Zoom),
    pre/post survey answers, weekly campaign check-ins. Deterministic."""
    import random

    rnd = random.Random(seed)
    keys = Keys(loaded.spec.programme.key_prefix, loaded.spec.programme.key)
    st = sb.moodle.state
    with sb.moodle.lock:
        userids = {u["idnumber"]: uid for uid, u in st.users.items() if u.get("idnumber")}
        cms = {cm["idnumber"]: cm["id"] for cm in st.modules.values() if cm.get("idnumber")}
    counts = {"attendance": 0, "responses": 0, "checkins": 0}
    orgs = [(o, [m for m in loaded.members.get(o.key, ()) if m.role == "member"]) for o in loaded.spec.organisations]
    # Each person has a steady habit, so that attendance, surveys and completion tell a coherent story.
    habit = {m.key: rnd.uniform(0.55, 0.98) for _o, members in orgs for m in members}
    for course in loaded.spec.courses:
        people = [(o, m) for o, members in orgs for m in members if o.courses is None or course.shortname in o.courses]
        if attendance and course.attendance is not None:
            cmid = cms.get(keys.module(course.shortname, course.attendance.key))
            for session in loaded.sessions.get(course.shortname, ()):
                if cmid is None or session.kind not in course.attendance.sessions:
                    continue
                for _o, m in people:
                    uid = userids.get(keys.user(m.key))
                    if uid is None:
                        continue
                    r = rnd.random()
                    status = "P" if r < habit[m.key] else "L" if r < habit[m.key] + 0.05 else "A"
                    sb.moodle.mark_attendance(cmid, int(session.start.timestamp()), uid, status)
                    counts["attendance"] += 1
        for survey in course.surveys:
            if survey.kind == "checkin":
                # Each organisation reports in its own check-in activity (or the course's one, spec/checkins.py).
                activities = {o.key if o else None: cms.get(keys.survey(course.shortname, survey.key, o.key if o else None))
                              for o in survey_activities(loaded.spec, course, survey)}
                counts["checkins"] += _seed_checkins(sb, loaded, survey, activities, people, userids, keys, rnd)
                continue
            cmid = cms.get(keys.module(course.shortname, survey.key))
            if cmid is None:
                continue
            when = int((survey.opens or dt.datetime.combine(course.start, dt.time(9))).replace(
                tzinfo=loaded.tz).timestamp())
            for _o, m in people:
                uid = userids.get(keys.user(m.key))
                if uid is None or rnd.random() > habit[m.key] + 0.05:
                    continue
                answers = {q.key: _answer(q, survey.kind, rnd) for q in survey.questions if q.type != "info"}
                sb.moodle.answer_feedback(cmid, uid, {k: v for k, v in answers.items() if v is not None},
                                          timemodified=when + rnd.randint(0, 5 * 86400))
                counts["responses"] += 1
    return counts


def _answer(q: Any, kind: str, rnd: Any) -> str | None:
    """One made-up answer, as feedback_value stores it; post answers a little higher than pre."""
    if q.type == "rating":
        low, high = q.min if q.min is not None else 1, q.max if q.max is not None else 5
        n = high - low + 1
        base = rnd.randint(1, max(1, n - 2)) + (rnd.choice((1, 1, 2)) if kind == "post" else 0)
        return str(min(n, base))
    if q.type == "multichoice":
        return str(rnd.randint(1, len(q.options)))
    if q.type == "multichoice_multi":
        picked = sorted(rnd.sample(range(1, len(q.options) + 1), rnd.randint(1, min(3, len(q.options)))))
        return "|".join(str(i) for i in picked)
    if q.type == "numeric":
        return str(rnd.randint(q.min or 0, min(q.max or 5000, 5000)))
    if q.type in ("text", "textarea"):
        return rnd.choice(("More practice with real campaigns.", "Sessions in Kyrgyz as well, please.",
                           "Shorter sessions, more homework feedback.", "How to measure offline impact.", None))
    return None


def _seed_checkins(sb: Sandboxes, loaded: LoadedSpec, survey: Any, activities: dict[str | None, int | None],
                   people: list[Any], userids: dict[str, int], keys: Any, rnd: Any) -> int:
    """One check-in per organisation, platform and week of its campaign, by one of its members."""
    from .report.metrics import read_metrics

    qs = {q.key: q for q in survey.questions}
    in_files = {(m.organisation, m.platform) for m in read_metrics(loaded)}
    n = 0
    for org in loaded.spec.organisations:
        campaign = org.campaign
        reporters = [m for o, m in people if o.key == org.key]
        cmid = activities.get(org.key, activities.get(None))
        if campaign is None or not reporters or "platform" not in qs or cmid is None:
            continue
        options = [o if isinstance(o, str) else next(iter(o.values())) for o in qs["platform"].options]
        for p in campaign.platforms:
            index = next((i for i, o in enumerate(options, start=1) if o.lower() == p.platform), None)
            if index is None or (org.key, p.platform) in in_files:
                continue  # reported through the metrics files instead
            week = campaign.start + dt.timedelta(days=(6 - campaign.start.weekday()))
            growth = 1.0
            while week <= campaign.end:
                growth *= rnd.uniform(1.0, 1.25)
                reporter = userids.get(keys.user(rnd.choice(reporters).key))
                if reporter is not None and rnd.random() < 0.9:  # a week is sometimes missed
                    reach = int(rnd.randint(1500, 4000) * growth)
                    answers = {"date": week.isoformat(), "platform": str(index),
                               "posts": str(rnd.randint(2, 6)), "reach": str(reach),
                               "engagements": str(int(reach * rnd.uniform(0.04, 0.09))),
                               "followers_gained": str(int(reach * rnd.uniform(0.005, 0.02))),
                               "best_post": f"{p.url or 'https://example.org'}/posts/{week:%Y%m%d}",
                               "notes": rnd.choice(("", "A video did best this week.", "Reposted by a local news site."))}
                    sb.moodle.answer_feedback(cmid, reporter, {k: v for k, v in answers.items() if k in qs and v},
                                              timemodified=int(dt.datetime.combine(week, dt.time(18)).replace(
                                                  tzinfo=loaded.tz).timestamp()))
                    n += 1
                week += dt.timedelta(days=7)
    return n


def report_after_programme(sb: Sandboxes, loaded: LoadedSpec, store: StateStore,
                           folder: Path) -> tuple[dict[str, int], int, Any, Any]:
    """Made-up survey answers and check-ins (attendance is in the registers already), then collect and
    build; the first session's event report goes to its course's announcements forum.

    Returns the seeded counts, the Moodle calls the collection made, the built report and the
    announcement (None when the programme has no session).
    """
    from .report import announce, dataset
    from .report.collect import collect
    from .report.render import build, session_report

    counts = seed_outcomes(sb, loaded, attendance=False)
    reader = sb.moodle_client()
    data = collect(loaded, reader, store)
    dataset.save(store, data)
    calls = reader.stats.total
    built = build(loaded, data, folder)
    first = next(((c, s) for c in loaded.spec.courses for s in loaded.sessions.get(c.shortname, ())), None)
    posted = None
    if first is not None:
        course, session = first
        event = session_report(loaded, data, session.key, folder)
        markdown = (event.folder / f"session-{session.key}.md").read_text(encoding="utf-8")
        posted, _new = announce.announce(loaded, sb.moodle_client(), store, course.shortname, session.key, markdown)
    return counts, calls, built, posted

