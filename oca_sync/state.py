"""The local state store: locks, the last-applied ledger and run history.

It is a cache, a lock and a ledger, never the truth: the keys that identify our
objects live on the remote side, so deleting this store never creates
duplicates (it only loses drift detection until the next apply).
Any SQLAlchemy URL works; the default is a SQLite file. No secret is stored.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    bindparam,
    event,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .errors import LockedError, StateError

metadata = MetaData()

locks = Table(
    "locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("command", String(200), nullable=False),
)

applied = Table(
    "applied",
    metadata,
    Column("scope", String(200), primary_key=True),  # e.g. "moodle:kg2022"
    Column("kind", String(50), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("data", Text, nullable=False),  # JSON of the managed fields as last written
    Column("updated", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(200), nullable=False),
    Column("command", String(50), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("summary", Text),
)


uploads = Table(
    "uploads",
    metadata,
    Column("key", String(300), primary_key=True),  # what is being uploaded (e.g. the Zoom recording file id)
    Column("session_uri", Text, nullable=False),  # Drive's resumable session (holds no credential)
    Column("size", Integer, nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
)

archived = Table(
    "archived",
    metadata,
    Column("key", String(300), primary_key=True),  # Zoom recording file id, or a material's key
    Column("scope", String(200), nullable=False),  # the programme
    Column("session", String(300), nullable=False),
    Column("drive_id", String(200), nullable=False),
    Column("link", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    Column("trashed_in_zoom", DateTime(timezone=True)),
)

# Attendance (oca_sync/attendance): mappings a person confirmed in review, and per person and
# session what Zoom showed, what we wrote to Moodle's register and what Moodle held when last read.
attendance_mappings = Table(
    "attendance_mappings",
    metadata,
    Column("scope", String(200), primary_key=True),  # the programme on one site
    Column("name", String(300), primary_key=True),  # display name, case and spacing folded
    Column("email", String(300), primary_key=True),  # "" when the mapping holds for any e-mail
    Column("userid", Integer, nullable=False),  # 0: confirmed as not a course user
    Column("username", String(200), nullable=False),
    Column("confirmed", DateTime(timezone=True), nullable=False),
)

attendance_records = Table(
    "attendance_records",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("session", String(300), primary_key=True),  # course shortname + ":" + session key
    Column("userid", Integer, primary_key=True),
    Column("username", String(200), nullable=False),
    Column("minutes", Float, nullable=False),
    Column("first_join", DateTime(timezone=True)),
    Column("last_leave", DateTime(timezone=True)),
    Column("computed", String(2), nullable=False),  # P, L or A from Zoom; "" while held for review
    Column("written", String(2), nullable=False),  # the acronym oca-sync last wrote, "" if none
    Column("written_statusid", Integer),
    Column("moodle", String(2), nullable=False),  # the acronym Moodle held when last read ("" unmarked)
    Column("updated", DateTime(timezone=True), nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class LockInfo:
    name: str
    holder: str
    host: str
    pid: int
    since: dt.datetime
    command: str


class StateStore:
    """Open (and create) the store at a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        if "://" not in url:  # a plain file path, as people type it: a SQLite file there
            url = "sqlite:///" + str(Path(url).expanduser().resolve())
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                path = Path(url.removeprefix("sqlite:///")).expanduser()
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.name and not path.exists():
                    # Owner-only from the start: an unfinished upload's Drive session URI is a credential.
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            metadata.create_all(self.engine)
        except (SQLAlchemyError, OSError) as e:
            raise StateError(f"cannot open the state store {_shown(url)}: {e}") from None
        except ImportError as e:  # the URL names a database whose Python driver is not installed
            raise StateError(f"cannot open the state store {_shown(url)}: its driver is not installed "
                             f"(pip install {e.name or 'the driver'})") from None

    # -- locks ---------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, command: str) -> Iterator[LockInfo]:
        """Hold the named lock for the duration of the block, or raise LockedError.

        A lock left by a process that died on this host is taken over.
        """
        info = LockInfo(name, getpass.getuser(), socket.gethostname(), os.getpid(), _now(), command)
        self._acquire(info)
        try:
            yield info
        finally:
            with self.engine.begin() as conn:
                conn.execute(delete(locks).where(locks.c.name == name, locks.c.pid == info.pid, locks.c.host == info.host))

    def _acquire(self, info: LockInfo) -> None:
        for _ in range(2):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(locks).values(**info.__dict__))
                return
            except IntegrityError:
                held = self.lock_holder(info.name)
                if held is None:
                    continue  # released between our insert and our read
                if held.host == info.host and not _pid_alive(held.pid):
                    with self.engine.begin() as conn:
                        conn.execute(delete(locks).where(locks.c.name == info.name, locks.c.pid == held.pid))
                    continue
                raise LockedError(
                    f"another '{held.command}' holds the lock {info.name!r}: {held.holder}@{held.host} "
                    f"pid {held.pid}, since {held.since:%Y-%m-%d %H:%M:%S}. Wait for it to finish; if that process "
                    f"is gone (another host), remove the lock with: oca-sync unlock {info.name}"
                ) from None
        raise LockedError(f"could not take the lock {info.name!r}")

    def lock_holder(self, name: str) -> LockInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(locks).where(locks.c.name == name)).mappings().first()
        return LockInfo(**row) if row else None

    def force_unlock(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(locks).where(locks.c.name == name)).rowcount > 0

    # -- ledger of what we last wrote (for drift detection) --------------------

    def applied_state(self, scope: str) -> dict[tuple[str, str], dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(applied).where(applied.c.scope == scope)).mappings().all()
        return {(r["kind"], r["key"]): json.loads(r["data"]) for r in rows}

    def record_applied(self, scope: str, items: Mapping[tuple[str, str], Mapping[str, Any] | None]) -> None:
        """Record (or forget, for ``None``) the fields we last wrote for each object.

        Only entries that differ are written, in two bulk statements (a no-op apply of thousands of
        objects writes nothing; one statement per object cost seconds).
        """
        now = _now()
        with self.engine.begin() as conn:
            current = {(r.kind, r.key): r.data for r in conn.execute(
                select(applied.c.kind, applied.c.key, applied.c.data).where(applied.c.scope == scope))}
            changed: list[tuple[str, str, str | None]] = []
            for (kind, key), data in items.items():
                text = None if data is None else json.dumps(data, sort_keys=True)
                if current.get((kind, key)) != text:
                    changed.append((kind, key, text))
            if not changed:
                return
            conn.execute(
                delete(applied).where(applied.c.scope == scope, applied.c.kind == bindparam("k"),
                                      applied.c.key == bindparam("y")),
                [{"k": kind, "y": key} for kind, key, _ in changed],
            )
            inserts = [{"scope": scope, "kind": kind, "key": key, "data": text, "updated": now}
                       for kind, key, text in changed if text is not None]
            if inserts:
                conn.execute(insert(applied), inserts)

    # -- resumable uploads and the archive ledger ----------------------------------

    def upload_session(self, key: str) -> tuple[str, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(uploads).where(uploads.c.key == key)).mappings().first()
        return (row["session_uri"], int(row["size"])) if row else None

    def upload_session_keys(self) -> set[str]:
        """The keys of every resumable upload left unfinished (one query for a whole run)."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(uploads.c.key)).scalars())

    def save_upload_session(self, key: str, session_uri: str, size: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(uploads).where(uploads.c.key == key))
            conn.execute(insert(uploads).values(key=key, session_uri=session_uri, size=size, started=_now()))

    def forget_upload_session(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(uploads).where(uploads.c.key == key))

    def archived_entry(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(archived).where(archived.c.key == key)).mappings().first()
        return dict(row) if row else None

    def record_archived(self, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(archived).where(archived.c.key == key))
            conn.execute(insert(archived).values(key=key, archived_at=_now(), **values))

    def mark_trashed_in_zoom(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(archived.update().where(archived.c.key == key).values(trashed_in_zoom=_now()))

    def archive_entries(self, scope: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(archived).where(archived.c.scope == scope)).mappings().all()
        return [dict(r) for r in rows]

    def remember_once(self, scope: str, key: str) -> bool:
        """True the first time ``key`` is seen in ``scope`` (kept across restarts), then False."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(applied).values(scope=scope, kind="seen", key=key, data="{}", updated=_now()))
            return True
        except IntegrityError:
            return False

    # -- attendance -----------------------------------------------------------

    def attendance_mappings(self, scope: str) -> dict[tuple[str, str], int]:
        """Confirmed mappings: (folded display name, e-mail) -> Moodle user id (0: not a course user)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(attendance_mappings).where(attendance_mappings.c.scope == scope)).mappings()
            return {(r["name"], r["email"]): int(r["userid"]) for r in rows}

    def save_attendance_mappings(self, scope: str, items: Mapping[tuple[str, str], tuple[int, str]]) -> None:
        """Remember ``(name, email) -> (userid, username)``; a later confirmation replaces an earlier one."""
        now = _now()
        with self.engine.begin() as conn:
            for (name, email), (userid, username) in items.items():
                t = attendance_mappings
                conn.execute(delete(t).where(t.c.scope == scope, t.c.name == name, t.c.email == email))
                conn.execute(insert(t).values(scope=scope, name=name, email=email, userid=userid,
                                              username=username, confirmed=now))

    def attendance_records(self, scope: str) -> list[dict[str, Any]]:
        """Per person and session: minutes, first join, last leave, computed/written/Moodle statuses."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(attendance_records).where(attendance_records.c.scope == scope)).mappings()
            return [dict(r) for r in rows]

    def save_attendance_records(self, scope: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Replace the rows of the sessions in ``records`` (keyed by session and userid)."""
        now = _now()
        t = attendance_records
        with self.engine.begin() as conn:
            for r in records:
                conn.execute(delete(t).where(t.c.scope == scope, t.c.session == r["session"],
                                             t.c.userid == r["userid"]))
                conn.execute(insert(t).values(scope=scope, updated=now, **r))

    # -- run history --------------------------------------------------------

    def start_run(self, scope: str, command: str) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(insert(runs).values(scope=scope, command=command, started=_now(), status="running"))
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, status: str, summary: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(finished=_now(), status=status, summary=json.dumps(dict(summary), sort_keys=True))
            )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets a reader (plan) run beside a writer (apply); NORMAL sync keeps the file consistent after a
    # crash and skips an fsync per commit, which matters with one commit per archived file. The store is
    # a cache and a ledger: what it may lose on a power cut is found again from the remote keys.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A forgotten upload session URI (a credential) is overwritten, not left in a free page.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shown(url: str) -> str:
    """The URL without its password (a PostgreSQL URL may carry one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "(the URL given)"
