"""Archive Zoom cloud recordings and the spec's materials to Drive, verified and resumable.

Nothing is lost: a file counts as archived only once Drive's size and MD5 match
what was streamed from Zoom, and only then (and only when asked) is the Zoom
copy moved to Zoom's trash. Every Drive file carries its source's key in
``appProperties`` (``ocaSource``: the Zoom recording file's id, or for a
material a digest of programme, course, session and item), so a second run
uploads nothing even with the local state deleted; ``ocaVerified`` is set only
after verification. Folders carry a digest of their place (``ocaFolder``), so a
renamed or moved folder is still found. One listing of the programme's files
(``ocaProgramme``) tells what is archived already.

Archives made before keys were digests (``ocaFolder = kg2022/Training/<name>``,
``ocaSource = material:<programme>:<session>:<item>``) are adopted: the folder
or file found under the old key gets the new one, nothing is uploaded twice.
Interrupted uploads resume from Drive's own record of the bytes received
(the session URI is kept in the state store).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, OcaError, RemoteError
from ..spec import LoadedSpec
from ..spec.models import FileContent, Session
from ..state import StateStore
from ..zoom.client import ZoomClient
from ..zoom.errors import ZoomNotFound
from ..zoom.meetings import desired_meetings, observe_meetings, read_ledger
from .client import FOLDER_MIME, DriveClient
from .readahead import ReadAhead
from .errors import DriveChecksumMismatch, DriveUploadExpired
from .layout import (
    MATERIALS,
    MIME_TYPES,
    RecordingTarget,
    fits,
    identity,
    recording_targets,
    safe_name,
    session_folder,
)

log = logging.getLogger("oca_sync.drive")

#: Small files archived at once (see :meth:`Archiver.archive_recordings`).
WORKERS = 4
#: Recording files up to this size go in one multipart request (in memory) instead of a resumable session.
SMALL_FILE = 1024 * 1024

SOURCE = "ocaSource"  # appProperties key: what the file is a copy of
VERIFIED = "ocaVerified"
PROGRAMME = "ocaProgramme"  # on every file: one listing finds all our copies
FOLDER = "ocaFolder"
SHA256 = "ocaSha256"
#: MD5 of what was sent, written with a file uploaded in one request (with ``ocaVerified`` 1): such a copy
#: counts as verified only while Drive's own ``md5Checksum`` of what it stored equals it, which any listing
#: shows, so no second call is needed to mark it after the check.
MD5 = "ocaMd5"


def content_verified(f: dict[str, Any], size: int) -> bool:
    """Drive's copy ``f`` holds what was sent: by its stored MD5 where we wrote ours, else by the mark set
    after the check (resumable uploads)."""
    props = f.get("appProperties") or {}
    if int(f.get("size", -1)) != size:
        return False
    if props.get(MD5):
        return props[MD5] == f.get("md5Checksum")
    return props.get(VERIFIED) == "1"


def recording_source(zoom_file_id: str) -> str:
    """``ocaSource`` of a recording: Zoom's file id (a digest of it, should one ever be too long)."""
    return zoom_file_id if fits(SOURCE, zoom_file_id) else identity("recording", zoom_file_id)


@dataclass
class Row:
    session: str
    name: str
    status: str  # archived | skipped | failed
    size: int = 0
    link: str = ""
    detail: str = ""


@dataclass
class ArchiveReport:
    rows: list[Row] = field(default_factory=list)
    bytes_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    def add_sent(self, n: int) -> None:
        with self._lock:  # files finish in several threads
            self.bytes_sent += n


class Progress(Protocol):
    """What an archive run reports while it works (the CLI draws bars from it)."""

    def files(self, total: int) -> None: ...
    def file_started(self, name: str, size: int) -> None: ...
    def bytes_at(self, position: int) -> None: ...  # bytes of the current file safely in Drive
    def file_done(self, row: Row) -> None: ...


class NoProgress:
    def files(self, total: int) -> None:
        pass

    def file_started(self, name: str, size: int) -> None:
        pass

    def bytes_at(self, position: int) -> None:
        pass

    def file_done(self, row: Row) -> None:
        pass


class Archiver:
    def __init__(
        self,
        loaded: LoadedSpec,
        drive: DriveClient,
        store: StateStore,
        *,
        zoom: ZoomClient | None = None,
        file_types: list[str] | None = None,
        trash_in_zoom: bool = False,
        progress: Progress | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.loaded = loaded
        self.drive = drive
        self.zoom = zoom
        self.store = store
        self.settings = loaded.spec.drive
        self.file_types = file_types or list(self.settings.file_types)
        self.trash_in_zoom = trash_in_zoom
        self.progress: Progress = progress or NoProgress()
        self.workers = workers
        self._folder_lock = threading.RLock()  # two files of one session must not both create its folder
        self.scope = f"archive:{loaded.spec.programme.key}"
        self._folders: dict[tuple[str, ...], str] = {}
        #: folders looked up ahead, in batches, by ocaFolder value (each used once: see prefetch_folders)
        self._looked: dict[str, list[dict[str, Any]]] = {}
        self._copies: dict[str, list[dict[str, Any]]] | None = None
        #: keys of the resumable uploads a run before this one left unfinished (read at each run's start)
        self._left_unfinished: set[str] = set()
        sessions = {}
        self.course_of: dict[str, str] = {}  # session key -> course shortname
        prefix = f"{loaded.spec.programme.key_prefix}:{loaded.spec.programme.key}:"
        for course in loaded.spec.courses:
            for s in loaded.sessions.get(course.shortname, ()):
                sessions[f"{prefix}{course.shortname}:{s.key}"] = s
                self.course_of[f"{prefix}{course.shortname}:{s.key}"] = course.shortname
        self.sessions = sessions

    # -- folders -------------------------------------------------------------

    def root(self) -> str:
        parent = self.drive.shared_drive_id or self.settings.shared_drive_id or "root"
        return self._folder((), (), self.settings.root_folder, parent)

    def _folder(self, place: tuple[str, ...], legacy_path: tuple[str, ...], name: str, parent: str) -> str:
        """The folder at ``place`` (e.g. ``("Training", course, session)``), found by its key, so renaming or
        moving it by hand does not make another; one made under the old key (``legacy_path``: its names)
        is adopted."""
        with self._folder_lock:
            return self._folder_locked(place, legacy_path, name, parent)

    def _folder_locked(self, place: tuple[str, ...], legacy_path: tuple[str, ...], name: str, parent: str) -> str:
        if place not in self._folders:
            p = self.loaded.spec.programme
            key = identity("folder", p.key_prefix, p.key, *place)
            found = self._find_folder(key)
            if not found:
                found = self._adopt_folder(key, "/".join((p.key,) + legacy_path))
            if found:
                here = [f for f in found if parent in (f.get("parents") or [])]
                self._folders[place] = (here or found)[0]["id"]
            else:
                # Just looked for under both keys: create it (ensure_folder would look again).
                self._folders[place] = self.drive.create_folder(name, parent, {FOLDER: key}, key=FOLDER)["id"]
        return self._folders[place]

    def _find_folder(self, value: str) -> list[dict[str, Any]]:
        if value in self._looked:
            return self._looked.pop(value)
        return self.drive.find_by_app_property(FOLDER, value, mime_type=FOLDER_MIME)

    def prefetch_folders(self, places: list[tuple[str, str, Session]]) -> None:
        """Look up the session folders of ``places`` ((top, course, session)) and their old keys in a few
        batched queries, instead of two queries per new folder when it is first needed."""
        p = self.loaded.spec.programme
        values: list[str] = []
        for top, course, session in places:
            if (top, course, session.key) in self._folders:
                continue
            values.append(identity("folder", p.key_prefix, p.key, top, course, session.key))
            legacy = "/".join((p.key, top, session_folder(session, self.loaded)))
            if fits(FOLDER, legacy):
                values.append(legacy)
        if values:
            self._looked.update(self.drive.find_by_app_property_values(FOLDER, values, mime_type=FOLDER_MIME))

    def _adopt_folder(self, key: str, legacy: str) -> list[dict[str, Any]]:
        if not fits(FOLDER, legacy):
            return []  # could never have been stored
        old = self._find_folder(legacy)
        if old:
            # The new key replaces the old one: a second course whose old key was the same makes its own.
            old[0] = self.drive.update_file(old[0]["id"], {"appProperties": {FOLDER: key}})
            log.info("Drive: adopted folder %s (%s)", old[0]["id"], legacy)
        return old[:1]

    def session_folder_id(self, top: str, course: str, session: Session) -> str:
        """``<root>/<top>/<session folder>`` for ``top`` = Training, Mentoring, Events or Materials."""
        kind = self._folder((top,), (top,), top, self.root())
        legacy_name = session_folder(session, self.loaded)
        return self._folder((top, course, session.key), (top, legacy_name),
                            session_folder(session, self.loaded, course), kind)

    def share(self) -> list[str]:
        """Share the root with the spec's addresses, groups or domain (reader by default)."""
        root = self.root()
        have = {(p.get("emailAddress") or p.get("domain") or "").lower() for p in self.drive.list_permissions(root)}
        done = []
        for who in self.settings.share_with:
            kind, _, value = who.partition(":") if who.startswith(("group:", "domain:", "user:")) else ("", "", who)
            kind = kind or ("user" if "@" in who else "domain")
            value = value or who
            if value.lower() in have:
                continue
            self.drive.create_permission(
                root, kind, self.settings.share_role, email_address=value if kind != "domain" else None,
                domain=value if kind == "domain" else None, send_notification=self.settings.notify and kind != "domain")
            done.append(value)
        return done

    # -- what to archive ------------------------------------------------------

    def recording_targets(self) -> list[RecordingTarget]:
        """Every recording file of every session that has taken place (reads Zoom only)."""
        if self.zoom is None:
            raise ConfigError("Zoom is not configured: set OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID, OCA_ZOOM_CLIENT_SECRET")
        desired = desired_meetings(self.loaded)
        observed = observe_meetings(self.zoom, desired, ledger=read_ledger(self.store, desired))
        ours = {m.id: (key, m.host) for key, ms in observed.items() if key in self.sessions for m in ms
                if m.id is not None}
        by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        per_meeting: list[tuple[str, int]] = []
        lo, hi = self._recording_window()
        # One listing per host and month instead of two calls per meeting (instances, then recordings);
        # a host Zoom no longer knows falls back to asking meeting by meeting.
        for host in sorted({h for _, h in ours.values()}):
            try:
                listed = self.zoom.list_user_recordings(host, lo, hi)
            except ZoomNotFound:
                per_meeting += [(k, mid) for mid, (k, h) in ours.items() if h == host]
                continue
            for item in listed:
                key_host = ours.get(int(item.get("id") or 0))
                if key_host is not None:
                    by_key[key_host[0]].append(item)
        targets: list[RecordingTarget] = []
        for key, mid in sorted(per_meeting):
            targets += self.instance_targets(key, mid)
        for key in sorted(by_key):
            recordings = sorted(by_key[key], key=lambda r: str(r.get("start_time", "")))
            targets += recording_targets(key, self.sessions[key], self.loaded, recordings, self.file_types,
                                         self.course_of[key])
        return targets

    def _recording_window(self) -> tuple[dt.date, dt.date]:
        """UTC dates that hold every instance of the programme's meetings: from a week before its first
        session (rehearsals) to a day after its last, and never after tomorrow."""
        starts = [s.start for s in self.sessions.values()]
        ends = [s.end for s in self.sessions.values()]
        today = dt.datetime.now(dt.timezone.utc).date()
        if not starts:
            return today, today
        lo = min(starts).astimezone(dt.timezone.utc).date() - dt.timedelta(days=7)
        hi = max(ends).astimezone(dt.timezone.utc).date() + dt.timedelta(days=1)
        return lo, max(lo, min(hi, today + dt.timedelta(days=1)))

    def instance_targets(self, key: str, meeting_id: int, uuid: str | None = None) -> list[RecordingTarget]:
        """The files of one meeting (all its past instances, or only ``uuid``)."""
        assert self.zoom is not None
        try:
            uuids = [uuid] if uuid else [i["uuid"] for i in self.zoom.list_past_instances(meeting_id)]
        except ZoomNotFound:
            return []  # never held
        recordings = []
        for u in uuids:
            try:
                recordings.append(self.zoom.get_recordings(u))
            except ZoomNotFound:
                continue  # held, not recorded
        recordings.sort(key=lambda r: str(r.get("start_time", "")))
        return recording_targets(key, self.sessions[key], self.loaded, recordings, self.file_types,
                                 self.course_of[key])

    # -- archiving ---------------------------------------------------------------

    def _index_copies(self) -> dict[str, list[dict[str, Any]]]:
        """Our copies in Drive by source, from one paged listing (instead of one query per file)."""
        index: dict[str, list[dict[str, Any]]] = {}
        for f in self.drive.find_by_app_property(PROGRAMME, self.loaded.spec.programme.key):
            index.setdefault((f.get("appProperties") or {}).get(SOURCE, ""), []).append(f)
        return index

    def archive_recordings(self, targets: list[RecordingTarget]) -> ArchiveReport:
        """Archive ``targets``; the report's rows are in their order.

        Small files (one multipart request each) go :attr:`workers` at a time: each is a few short
        requests whose time is mostly waiting for the two servers. Large ones stream one at a time
        meanwhile, in this thread (their bytes keep the link busy; progress shows the current one).
        """
        report = ArchiveReport()
        self._copies = self._index_copies()
        self._left_unfinished = self.store.upload_session_keys()
        self.progress.files(len(targets))
        places = {(t.kind_folder, t.course or self.course_of[t.key], t.key): self.sessions[t.key]
                  for t in targets if not self._has_verified_copy(t)}
        with self._folder_lock:
            self.prefetch_folders([(top, course, places[(top, course, key)])
                                   for top, course, key in sorted(places)])
        rows: list[Row | None] = [None] * len(targets)

        def one(i: int, t: RecordingTarget) -> None:
            rows[i] = row = self._archive_one(t, report)
            self.progress.file_done(row)

        small = {i for i, t in enumerate(targets) if self._small(t)}
        with ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="oca-archive") as pool:
            futures = [pool.submit(one, i, targets[i]) for i in sorted(small)]
            for i, t in enumerate(targets):
                if i not in small:
                    one(i, t)
            for f in futures:
                f.result()  # re-raises what a worker could not turn into a failed row
        report.rows = [r for r in rows if r is not None]
        return report

    def _has_verified_copy(self, t: RecordingTarget) -> bool:
        return any(content_verified(f, t.size) for f in (self._copies or {}).get(recording_source(t.zoom_file_id), []))

    def _small(self, t: RecordingTarget) -> bool:
        """Small enough for one multipart request, and no resumable upload of it was left to resume
        (by an earlier run: the answer does not change during this one)."""
        return t.size <= SMALL_FILE and t.zoom_file_id not in self._left_unfinished

    def _archive_one(self, t: RecordingTarget, report: ArchiveReport) -> Row:
        session = t.session_folder
        try:
            existing = self._verified_copy(t)
            if existing is not None:
                self._maybe_trash(t)
                return Row(session, t.name, "skipped", t.size, existing.get("webViewLink", ""), "already archived")
            folder = self.session_folder_id(t.kind_folder, t.course or self.course_of[t.key], self.sessions[t.key])
            file = self._upload_recording(t, folder, report)
            self.store.record_archived(
                t.zoom_file_id, scope=self.scope, session=t.key, drive_id=file["id"],
                link=file.get("webViewLink", ""), name=t.name, size=int(file.get("size", 0)),
                md5=file.get("md5Checksum", ""))
            self._maybe_trash(t)
            return Row(session, t.name, "archived", t.size, file.get("webViewLink", ""))
        except (RemoteError, OcaError) as e:
            log.warning("%s: %s", t.name, e)
            return Row(session, t.name, "failed", t.size, "", str(e))

    def _verified_copy(self, t: RecordingTarget) -> dict[str, Any] | None:
        """A verified Drive copy of ``t``; unverified leftovers of a failed run are trashed (unless an
        upload of it was left to resume: the copy may be that upload's, finished but not yet checked)."""
        found = None
        for f in (self._copies or {}).get(recording_source(t.zoom_file_id), []):
            if content_verified(f, t.size) and found is None:
                found = f
            elif t.zoom_file_id not in self._left_unfinished:
                # Left by a run that failed verification (or a copy made twice): never counted as archived.
                self.drive.trash_file(f["id"])
        return found

    def _upload_recording(self, t: RecordingTarget, folder: str, report: ArchiveReport) -> dict[str, Any]:
        assert self.zoom is not None
        props = {SOURCE: recording_source(t.zoom_file_id), VERIFIED: "0", PROGRAMME: self.loaded.spec.programme.key}
        if self._small(t):
            # In a worker thread: only file_done reports it (the byte bar follows the large file).
            return self._upload_small(t, folder, props, report)
        self.progress.file_started(t.name, t.size)
        saved = self.store.upload_session(t.zoom_file_id)
        session_uri = saved[0] if saved and saved[1] == t.size else None
        offset = 0
        if session_uri:
            try:
                state = self.drive.upload_status(session_uri, t.size)
            except DriveUploadExpired:
                session_uri, state = None, 0
            if isinstance(state, dict):
                return self._finish(t, state, None)
            offset = state
        if not session_uri:
            session_uri = self.drive.start_resumable(t.name, folder, t.mime_type, t.size, props)
            self.store.save_upload_session(t.zoom_file_id, session_uri, t.size)
        # The download is read ahead and hashed in a thread while the chunks go out. When resuming, the
        # whole file streams through the hash: bytes Drive already has are read, not sent.
        zoom = self.zoom
        reader = ReadAhead(lambda start: zoom.stream_download(t.download_url, start=start))
        self.progress.bytes_at(offset)
        sent_before = self.drive.stats.bytes_sent
        try:
            file = self.drive.upload_chunks(session_uri, reader, size=t.size, offset=offset, hash_sent=False,
                                            on_progress=lambda pos, _size: self.progress.bytes_at(pos))
            # Drains what is left (the hash covers every byte); None when bytes were read twice
            # (after a failed chunk): then _finish verifies by reading the file again.
            md5 = reader.finish()
        except DriveChecksumMismatch as e:  # the size differs
            self._discard(t, e.file)
            raise OcaError(f"{t.name}: Drive's copy does not match what Zoom sent ({e.file.get('size')} bytes, "
                           f"not {t.size}); it was discarded and will be uploaded again next run") from None
        finally:
            reader.close()  # and the download
        report.add_sent(self.drive.stats.bytes_sent - sent_before)
        return self._finish(t, file, md5)

    def _upload_small(self, t: RecordingTarget, folder: str, props: dict[str, str],
                      report: ArchiveReport) -> dict[str, Any]:
        """A small file in one multipart request (Drive's advice for files up to 5 MB): no session to
        open, keep and forget. Nothing to resume either: a run that stops before verifying leaves an
        unverified copy, which the next run trashes and replaces."""
        assert self.zoom is not None
        with self.zoom.stream_download(t.download_url) as d:
            data = b"".join(d)
        if len(data) != t.size:
            raise OcaError(f"{t.name}: Zoom sent {len(data)} bytes, its listing says {t.size}; nothing uploaded")
        md5 = hashlib.md5(data).hexdigest()
        try:
            # create_file checks Drive's size and md5Checksum against ours (else DriveChecksumMismatch); ocaMd5
            # lets any later listing do the same, so the copy needs no second call to be marked verified.
            file = self.drive.create_file(t.name, folder, t.mime_type, data, {**props, VERIFIED: "1", MD5: md5})
        except DriveChecksumMismatch as e:
            self._discard(t, e.file)
            raise OcaError(f"{t.name}: Drive's copy does not match what Zoom sent (MD5 {e.actual} ≠ {e.expected}); "
                           "it was discarded and will be uploaded again next run") from None
        report.add_sent(len(data))
        return file

    def _finish(self, t: RecordingTarget, file: dict[str, Any], md5: str | None) -> dict[str, Any]:
        size = int(file.get("size", -1))
        if size != t.size or (md5 is not None and file.get("md5Checksum") != md5):
            self._discard(t, file)
            raise OcaError(f"{t.name}: Drive's copy does not match what Zoom sent ({size} bytes and MD5 "
                           f"{file.get('md5Checksum')}, Zoom's {t.size} bytes{f' and MD5 {md5}' if md5 else ''}); "
                           "it was discarded and will be uploaded again next run")
        if md5 is None:
            # Finished in an earlier run that stopped before verifying: check it now, by content.
            digest = hashlib.md5()
            assert self.zoom is not None
            with self.zoom.stream_download(t.download_url) as d:
                for chunk in d:
                    digest.update(chunk)
            if digest.hexdigest() != file.get("md5Checksum"):
                self._discard(t, file)
                raise OcaError(f"{t.name}: Drive's copy does not match Zoom's; discarded, to be uploaded again")
        props = dict(file.get("appProperties") or {})
        props[VERIFIED] = "1"
        file = self.drive.update_file(file["id"], {"appProperties": props})
        self.store.forget_upload_session(t.zoom_file_id)
        return file

    def _discard(self, t: RecordingTarget, file: dict[str, Any] | None) -> None:
        self.store.forget_upload_session(t.zoom_file_id)
        if file and file.get("id"):
            self.drive.trash_file(file["id"])

    def _maybe_trash(self, t: RecordingTarget) -> None:
        """Move the Zoom copy to Zoom's trash: only when asked and only once Drive's copy is verified."""
        if not self.trash_in_zoom or self.zoom is None:
            return
        entry = self.store.archived_entry(t.zoom_file_id)
        if entry is not None and entry.get("trashed_in_zoom"):
            return
        self.zoom.trash_recording_file(t.meeting_uuid, t.zoom_file_id)
        if entry is not None:
            self.store.mark_trashed_in_zoom(t.zoom_file_id)

    # -- materials ---------------------------------------------------------------------

    def material_source(self, course: str, session: Session, content: FileContent) -> str:
        """``ocaSource`` of a material: programme, course, session and item, as a digest that always fits."""
        p = self.loaded.spec.programme
        return identity("material", p.key_prefix, p.key, course, session.key, content.key)

    def _legacy_material_source(self, session: Session, content: FileContent) -> str:
        # Before the course was part of the key: two courses with the same keys shared it.
        return f"material:{self.loaded.spec.programme.key}:{session.key}:{content.key}"

    def archive_materials(self) -> ArchiveReport:
        """The spec's files, in their original format, under Materials/<session>/; by content hash."""
        report = ArchiveReport()
        items = []
        for spec_course in self.loaded.spec.courses:
            for s in self.loaded.sessions.get(spec_course.shortname, ()):
                for c in s.content:
                    if isinstance(c, FileContent):
                        items.append((spec_course.shortname, s, c, self.loaded.file(c.path)))
        self._copies = self._index_copies()  # one listing for every file
        sharing: dict[str, int] = {}
        for _course, s, c, _path in items:
            legacy = self._legacy_material_source(s, c)
            sharing[legacy] = sharing.get(legacy, 0) + 1
        self.progress.files(len(items))
        for course, session, content, path in items:
            row = self._archive_material(course, session, content, path, sharing)
            if row.status == "failed":
                sharing[self._legacy_material_source(session, content)] = 0  # keep what the old key holds
            report.rows.append(row)
            if row.status == "archived":
                report.bytes_sent += row.size
            self.progress.file_done(row)
        # Old-key copies that no course adopted are older versions of a file two courses shared: replaced.
        for legacy, n in sharing.items():
            if n > 1:
                for f in self._copies.pop(legacy, []):
                    self._trash_quietly(f)
        return report

    def _archive_material(self, course: str, session: Session, content: FileContent, path: Path,
                          sharing: dict[str, int]) -> Row:
        folder_name = session_folder(session, self.loaded, course)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        source = self.material_source(course, session, content)
        legacy = self._legacy_material_source(session, content)
        copies = self._copies if self._copies is not None else {}
        try:
            current = copies.get(source, [])
            # Unchanged: our content's digest, and Drive stored exactly it (a copy whose upload failed its
            # check is never "unchanged": it is replaced below).
            md5 = hashlib.md5(data).hexdigest()
            same = [f for f in current if (f.get("appProperties") or {}).get(SHA256) == sha
                    and f.get("md5Checksum") == md5]
            if same:
                return Row(folder_name, path.name, "skipped", len(data), same[0].get("webViewLink", ""),
                           "unchanged")
            old = copies.get(legacy, [])
            match = next((f for f in old if (f.get("appProperties") or {}).get(SHA256) == sha), None)
            if match is not None:
                # Archived under the old key with this very content: it becomes this course's copy.
                old.remove(match)
                adopted = self.drive.update_file(match["id"], {"appProperties": {SOURCE: source}})
                copies.setdefault(source, []).append(adopted)
                for f in current:
                    self.drive.trash_file(f["id"])
                return Row(folder_name, path.name, "skipped", len(data), adopted.get("webViewLink", ""),
                           "unchanged (adopted)")
            folder = self.session_folder_id(MATERIALS, course, session)
            self.progress.file_started(path.name, len(data))
            try:
                file = self.drive.create_file(
                    safe_name(path.name, 200), folder,
                    MIME_TYPES.get(path.suffix.lstrip(".").lower(), "application/octet-stream"),
                    data, {SOURCE: source, SHA256: sha, VERIFIED: "1", PROGRAMME: self.loaded.spec.programme.key})
            except DriveChecksumMismatch as e:
                if e.file.get("id"):
                    self.drive.trash_file(e.file["id"])  # never left to pass for this content next run
                raise OcaError(f"{path.name}: Drive's copy does not match the file (MD5 {e.actual} ≠ {e.expected}); "
                               "it was discarded and will be uploaded again next run") from None
            self.progress.bytes_at(len(data))
            # An older version is replaced; under the old key only when no other course shared that key.
            stale = list(current) + (copies.pop(legacy, []) if sharing.get(legacy, 0) == 1 else [])
            for f in stale:
                self.drive.trash_file(f["id"])
            copies[source] = [file]
            self.store.record_archived(source, scope=self.scope, session=self._session_key(course, session),
                                       drive_id=file["id"], link=file.get("webViewLink", ""), name=path.name,
                                       size=len(data), md5=file.get("md5Checksum", ""))
            return Row(folder_name, path.name, "archived", len(data), file.get("webViewLink", ""))
        except (RemoteError, OcaError) as e:
            return Row(folder_name, path.name, "failed", len(data), "", str(e))

    def _session_key(self, course: str, session: Session) -> str:
        p = self.loaded.spec.programme
        return f"{p.key_prefix}:{p.key}:{course}:{session.key}"

    def _trash_quietly(self, f: dict[str, Any]) -> None:
        try:
            self.drive.trash_file(f["id"])
        except (RemoteError, OcaError) as e:
            log.warning("could not trash the old copy %s: %s", f.get("id"), e)
