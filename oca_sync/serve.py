"""`oca-sync serve`: archive a meeting's recordings when Zoom says they are ready.

Zoom's ``recording.completed`` webhook is verified and acknowledged at once by
:mod:`oca_sync.zoom.webhooks`; this module decides whether the meeting is one
of the spec's (its id is among our meetings, found by our key in the agenda)
and archives that instance in the background, exactly as
``oca-sync recordings archive`` would. Each instance is handled once, even
across restarts (the state store remembers the events seen).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette

from .drive.archive import Archiver
from .state import StateStore
from .zoom.meetings import desired_meetings, observe_meetings, read_ledger
from .zoom.webhooks import MEETING_ENDED, create_app

log = logging.getLogger("oca_sync.serve")


class RecordingHandler:
    """Maps Zoom meeting ids to our session keys and archives what arrives."""

    def __init__(self, archiver: Archiver) -> None:
        self.archiver = archiver
        self._ids: dict[int, str] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """List our meetings (one listing per host) and remember their ids."""
        zoom = self.archiver.zoom
        assert zoom is not None
        desired = desired_meetings(self.archiver.loaded)
        observed = observe_meetings(zoom, desired, ledger=read_ledger(self.archiver.store, desired))
        with self._lock:
            self._ids = {m.id: key for key, ms in observed.items() for m in ms if m.id is not None}

    def key_of(self, meeting_id: int) -> str | None:
        with self._lock:
            key = self._ids.get(meeting_id)
        if key is None:  # a meeting created since we last looked
            self.refresh()
            with self._lock:
                key = self._ids.get(meeting_id)
        return key

    def __call__(self, event: dict[str, Any]) -> None:
        obj, meeting_id = _meeting_of(event)
        if meeting_id is None:
            log.info("recording.completed without a meeting id: ignored")
            return
        key = self.key_of(meeting_id)
        if key is None or key not in self.archiver.sessions:
            log.info("recording.completed for meeting %s, which is not one of the spec's: ignored", meeting_id)
            return
        targets = self.archiver.instance_targets(key, meeting_id, uuid=str(obj.get("uuid") or "") or None)
        report = self.archiver.archive_recordings(targets)
        self.archiver.share()
        log.info("meeting %s (%s): %d archived, %d skipped, %d failed", meeting_id, key.split(":")[-1],
                 report.count("archived"), report.count("skipped"), report.count("failed"))
        if report.count("failed"):
            raise RuntimeError(f"{report.count('failed')} file(s) of meeting {meeting_id} failed; "
                               "`oca-sync recordings archive` will retry them")


def _meeting_of(event: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The event's meeting object and its numeric id (None when the event carries none)."""
    obj = (event.get("payload") or {}).get("object") or {}
    try:
        return obj, int(str(obj.get("id")))
    except (TypeError, ValueError):
        return obj, None


class AttendanceHandler:
    """``meeting.ended`` of one of the spec's meetings: fill that session's attendance register.

    Does what ``oca-sync attendance sync --session KEY --yes`` does for that one
    session. The session counts as ended from the moment Zoom says its
    meeting ended (a meeting may end before its scheduled time); a meeting
    restarted later is caught up by the next run, since statuses oca-sync
    wrote itself may still be updated.
    """

    def __init__(self, recordings: RecordingHandler, moodle: Any, store: StateStore) -> None:
        self.recordings = recordings
        self.moodle = moodle
        self.store = store

    def __call__(self, event: dict[str, Any]) -> None:
        from .attendance import sync as att

        _obj, meeting_id = _meeting_of(event)
        if meeting_id is None:
            log.info("meeting.ended without a meeting id: ignored")
            return
        key = self.recordings.key_of(meeting_id)
        session = self.recordings.archiver.sessions.get(key) if key else None
        if key is None or session is None:
            log.info("meeting.ended for meeting %s, which is not one of the spec's: ignored", meeting_id)
            return
        loaded = self.recordings.archiver.loaded
        zoom = self.recordings.archiver.zoom
        assert zoom is not None
        skey = ":".join(key.split(":")[-2:])  # "<course>:<session>"
        now = max(dt.datetime.now(dt.timezone.utc), session.end)
        aplan = att.prepare(self.moodle, zoom, loaded, self.store, now=now, only={skey})
        if aplan.plan.changes:
            with self.store.lock(f"apply:{aplan.scope}", "attendance sync (serve)"):
                result = att.apply(self.moodle, aplan, self.store)
            log.info("meeting %s (%s): %d attendance status(es) written, %d to review", meeting_id, skey,
                     result.written, len(aplan.review))
        else:
            att.save_records(self.store, aplan, aplan.written)
            log.info("meeting %s (%s): attendance unchanged, %d to review", meeting_id, skey, len(aplan.review))


def webhook_app(archiver: Archiver, store: StateStore, secret: str, moodle: Any = None) -> Starlette:
    """The receiver; with a Moodle client, ``meeting.ended`` also fills that session's attendance."""
    handler = RecordingHandler(archiver)
    handler.refresh()
    attendance = AttendanceHandler(handler, moodle, store) if moodle is not None else None

    def dispatch(event: dict[str, Any]) -> None:
        if event.get("event") == MEETING_ENDED:
            if attendance is None:
                log.info("meeting.ended: Moodle is not configured, attendance is not filled")
                return
            attendance(event)
        else:
            handler(event)

    scope = f"webhook:{archiver.loaded.spec.programme.key}"
    handle: Callable[[dict[str, Any]], None] = dispatch
    return create_app(secret, handle, dedupe=lambda key: store.remember_once(scope, key))
