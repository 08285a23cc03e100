"""The built-in sandbox as a whole (Moodle, Zoom and Drive emulators), for `oca-sync demo` and `oca-sync sandbox`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from importlib import resources
from pathlib import Path

from .config import SiteOptions
from .errors import UsageError
from .moodle.client import MoodleClient
from .drive.archive import ArchiveReport, Archiver, Progress
from .drive.client import DriveClient
from .sandbox.drive import DriveSandbox
from .sandbox.moodle import MoodleSandbox
from .sandbox.zoom import ZoomSandbox
from .spec import LoadedSpec
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
    sessions = {f"{loaded.spec.programme.key_prefix}:{loaded.spec.programme.key}:{c}:{s.key}": (c, s)
                for c, ss in loaded.sessions.items() for s in ss}
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
