"""Deterministic data of the Zoom emulator: users, meeting instances, recordings, reports.

Everything is derived from a seed and the meeting's id, so the same sandbox
gives the same past instances, recordings (with their bytes) and participant
reports on every run, and later features and the demo have realistic data:

* instance UUIDs look like Zoom's (22 base64 characters and ``==``); the
  instances of every second and third meeting start with ``/`` or contain
  ``//``, which Zoom requires to be URL-encoded twice;
* a meeting that ended has one instance, sometimes two (the host restarted it);
* recordings: MP4 (``shared_screen_with_speaker_view``), M4A (``audio_only``),
  TRANSCRIPT (VTT) and CHAT (TXT), with ``file_size``; binary files are
  pseudo-random bytes produced block by block (never held whole in memory),
  the text files are real text built from the participants;
* participant reports: one row per join/leave, some people leave and rejoin,
  guests have no e-mail and an empty ``id`` (as Zoom hides guests' ids since 2023).
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "DEFAULT_PEOPLE",
    "UUID_STYLES",
    "Instance",
    "Person",
    "RecordingFile",
    "make_instances",
    "make_participant_rows",
    "make_recording_files",
    "make_uuid",
    "people_from",
]

#: Order in which new meetings get their UUID style (see the module docstring).
UUID_STYLES = ("plain", "slash", "double")

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BLOCK = 1 << 16


def _rng(*parts: Any) -> random.Random:
    # String seeds are hashed with SHA-512: stable across runs and Python processes.
    return random.Random(":".join(str(p) for p in parts))


def make_uuid(rng: random.Random, style: str = "plain") -> str:
    """A Zoom-like meeting UUID; ``slash`` starts with ``/``, ``double`` contains ``//``."""
    chars = [rng.choice(_B64.replace("/", "")) for _ in range(22)]
    if style == "slash":
        chars[0] = "/"
    elif style == "double":
        at = rng.randrange(1, 20)
        chars[at] = chars[at + 1] = "/"
    return "".join(chars[:21]) + rng.choice("AQgw") + "=="


def _hex_id(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.randrange(4)]}{h[17:20]}-{h[20:32]}"


# --------------------------------------------------------------------------- #
# People
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Person:
    """A participant: ``email`` empty for a guest who did not sign in.

    ``segments`` optionally fixes when they were in the meeting, as
    ``(join, leave)`` minutes from the instance's start; several segments mean
    rejoins. Without segments the emulator derives them from the seed.
    """

    name: str
    email: str = ""
    segments: tuple[tuple[float, float], ...] = ()


#: Deterministic fake people (CSO members, trainers, a guest on a phone).
DEFAULT_PEOPLE: tuple[Person, ...] = (
    Person("Aibek Asanov", "aibek.asanov@example.org"),
    Person("Nurgul Toktosunova", "nurgul.toktosunova@example.org"),
    Person("Elena Petrova", "elena.petrova@example.org"),
    Person("Bakyt Osmonov", "bakyt.osmonov@example.org"),
    Person("Aigerim Sadykova", "aigerim.sadykova@example.org"),
    Person("Timur Ibraimov", "timur.ibraimov@example.org"),
    Person("Saltanat Abdyldaeva", "saltanat.abdyldaeva@example.org"),
    Person("Daniyar Kasymov", "daniyar.kasymov@example.org"),
    Person("Maria Ivanova", "maria.ivanova@example.org"),
    Person("Azamat Jusupov", "azamat.jusupov@example.org"),
    Person("Gulnara Bekova", "gulnara.bekova@example.org"),
    Person("Kanat (CSO Talas)", "kanat.talas@example.org"),
    Person("iPhone", ""),
)


def people_from(value: Sequence[Person | Mapping[str, Any] | tuple[str, str] | str]) -> tuple[Person, ...]:
    """Accept people as :class:`Person`, ``{"name", "email", "segments"}``, ``(name, email)`` or an e-mail."""
    out: list[Person] = []
    for item in value:
        if isinstance(item, Person):
            out.append(item)
        elif isinstance(item, Mapping):
            segs = tuple((float(a), float(b)) for a, b in item.get("segments") or ())
            out.append(Person(str(item.get("name") or item.get("email") or "Guest"), str(item.get("email") or ""), segs))
        elif isinstance(item, tuple):
            out.append(Person(str(item[0]), str(item[1])))
        else:
            name = str(item).split("@")[0].replace(".", " ").title()
            out.append(Person(name, str(item)))
    return tuple(out)


# --------------------------------------------------------------------------- #
# Instances
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Instance:
    """One held occurrence of a meeting (what Zoom calls a meeting instance, with its UUID)."""

    uuid: str
    index: int
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def make_instances(seed: Any, meeting_id: int, first_uuid: str, style_index: int, start: datetime,
                   duration_min: int) -> list[Instance]:
    """The instances of a scheduled meeting that has ended.

    The first instance keeps the meeting's own UUID (as in Zoom); one meeting
    in five was restarted by its host and has a second instance.
    """
    rng = _rng(seed, "instances", meeting_id)
    # An instance never outlasts its scheduled slot, so "ended" is start + duration <= now.
    slot = max(duration_min, 1) * 60
    begin = start + timedelta(seconds=rng.randrange(0, max(1, min(180, slot // 6))))
    end = start + timedelta(seconds=slot - rng.randrange(0, max(1, min(300, slot // 6))))
    if rng.random() < 0.2:
        cut = begin + (end - begin) * 0.4
        style = UUID_STYLES[(style_index + 1) % len(UUID_STYLES)]
        second = make_uuid(rng, style)
        return [
            Instance(first_uuid, 0, begin, cut),
            Instance(second, 1, cut + timedelta(minutes=2), end),
        ]
    return [Instance(first_uuid, 0, begin, end)]


# --------------------------------------------------------------------------- #
# Participant reports
# --------------------------------------------------------------------------- #


def _segments(rng: random.Random, minutes: float, is_host: bool) -> list[tuple[float, float]]:
    if is_host:
        return [(0.0, minutes)]
    join = rng.uniform(0, min(8, minutes / 4))
    leave = minutes - rng.uniform(0, 3)
    if rng.random() < 0.15:  # left early
        leave = rng.uniform(minutes / 2, minutes * 0.9)
    if rng.random() < 0.3:  # dropped (bad connection) and came back, once or twice
        parts: list[tuple[float, float]] = []
        at = join
        for _ in range(rng.choice((1, 1, 2))):
            drop = rng.uniform(at + 1, at + (leave - at) / 2)
            parts.append((at, drop))
            at = drop + rng.uniform(0.5, 4)
            if at >= leave - 1:
                break
        parts.append((at, leave))
        return parts
    return [(join, leave)]


def make_participant_rows(seed: Any, meeting_id: int, instance: Instance, host: Person,
                          people: Sequence[Person] | None) -> list[dict[str, Any]]:
    """Report rows of one instance: one per join/leave, sorted by join time.

    ``people`` None means a deterministic sample of :data:`DEFAULT_PEOPLE`.
    Times are clipped to the instance; ``duration`` is in seconds.
    """
    rng = _rng(seed, "participants", meeting_id, instance.index)
    if people is None:
        sample = rng.sample(list(DEFAULT_PEOPLE), k=min(len(DEFAULT_PEOPLE), rng.randrange(6, 11)))
        people = [host, *sample]
    minutes = instance.minutes
    rows: list[dict[str, Any]] = []
    join_counter = 16778240 + rng.randrange(0, 1000)
    for person in people:
        segs = list(person.segments) or _segments(rng, minutes, person.email == host.email and bool(host.email))
        stable_id = _participant_id(seed, person) if person.email else ""
        for a, b in segs:
            a, b = max(0.0, min(a, minutes)), max(0.0, min(b, minutes))
            if b <= a:
                continue
            join = instance.start + timedelta(seconds=round(a * 60))
            leave = instance.start + timedelta(seconds=round(b * 60))
            join_counter += rng.randrange(1, 2048)
            rows.append({
                "id": stable_id,
                "user_id": str(join_counter),
                "name": person.name,
                "user_email": person.email,
                "join_time": join,
                "leave_time": leave,
                "duration": int((leave - join).total_seconds()),
                "failover": False,
                "status": "in_meeting",
                "customer_key": "",
                "participant_user_id": stable_id,
                "registrant_id": "",
            })
    rows.sort(key=lambda r: (r["join_time"], r["name"]))
    return rows


def _participant_id(seed: Any, person: Person) -> str:
    digest = hashlib.sha256(f"{seed}:{person.email.lower()}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


# --------------------------------------------------------------------------- #
# Recordings
# --------------------------------------------------------------------------- #

#: (file_type, file_extension, recording_type) of the files every recorded instance gets.
RECORDING_KINDS: tuple[tuple[str, str, str], ...] = (
    ("MP4", "MP4", "shared_screen_with_speaker_view"),
    ("M4A", "M4A", "audio_only"),
    ("TRANSCRIPT", "VTT", "audio_transcript"),
    ("CHAT", "TXT", "chat_file"),
)

_MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
_M4A_HEAD = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom"


@dataclass
class RecordingFile:
    """One cloud recording file; its bytes are produced on demand by :meth:`read`."""

    id: str
    meeting_uuid: str
    meeting_id: int
    file_type: str
    file_extension: str
    recording_type: str
    recording_start: datetime
    recording_end: datetime
    size: int
    seed: str
    text: bytes | None = None
    status: str = "completed"
    #: None, or "trash" once moved to the trash (then hidden from listings and downloads)
    deleted: str | None = None
    deleted_time: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def _block(self, k: int) -> bytes:
        data = random.Random(f"{self.seed}:{k}").randbytes(_BLOCK)
        if k == 0:
            head = _MP4_HEAD if self.file_type == "MP4" else _M4A_HEAD
            data = head + data[len(head):]
        return data

    def read(self, start: int = 0, end: int | None = None, chunk: int = _BLOCK) -> Iterator[bytes]:
        """The bytes ``[start, end)`` in chunks, generated as they are sent."""
        end = self.size if end is None else min(end, self.size)
        if start >= end:
            return
        if self.text is not None:
            for i in range(start, end, chunk):
                yield self.text[i:min(i + chunk, end)]
            return
        pos = start
        while pos < end:
            k, off = divmod(pos, _BLOCK)
            piece = self._block(k)[off:off + min(end - pos, _BLOCK - off)]
            yield piece
            pos += len(piece)

    def content(self) -> bytes:
        """The whole file (tests only: fine for small files)."""
        return b"".join(self.read())


def make_recording_files(seed: Any, meeting_id: int, instance: Instance, rows: Sequence[Mapping[str, Any]],
                         topic: str, sizes: Mapping[str, int]) -> list[RecordingFile]:
    """The four files of a recorded instance; MP4/M4A sizes from ``sizes`` (bytes per minute or fixed)."""
    rng = _rng(seed, "recordings", meeting_id, instance.index)
    start = instance.start + timedelta(seconds=rng.randrange(5, 60))
    end = instance.end
    minutes = max(1, round((end - start).total_seconds() / 60))
    files: list[RecordingFile] = []
    for file_type, ext, rtype in RECORDING_KINDS:
        file_id = _hex_id(rng)
        text = None
        if file_type == "TRANSCRIPT":
            text = _transcript(rng, rows, start, end, topic)
        elif file_type == "CHAT":
            text = _chat(rng, rows, start, end)
        if text is not None:
            size = len(text)
        elif f"{file_type}_bytes" in sizes:
            size = int(sizes[f"{file_type}_bytes"])
        else:
            size = int(sizes.get(f"{file_type}_per_minute", 0)) * minutes + rng.randrange(0, 4096)
        files.append(RecordingFile(
            id=file_id, meeting_uuid=instance.uuid, meeting_id=meeting_id, file_type=file_type,
            file_extension=ext, recording_type=rtype, recording_start=start, recording_end=end,
            size=size, seed=f"{seed}:{file_id}", text=text,
        ))
    return files


_LINES = (
    "Good afternoon everyone, let's start.",
    "Today we look at the campaign plan of each organisation.",
    "Can everyone see my screen?",
    "Please put your questions in the chat.",
    "Let's split into breakout rooms for fifteen minutes.",
    "Thank you, that was very useful.",
    "The recording will be shared in Moodle.",
    "Our target audience is young people in the regions.",
    "We will meet again next week at the same time.",
)


def _speakers(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    names = [str(r["name"]) for r in rows if r.get("user_email")]
    return list(dict.fromkeys(names)) or ["Host"]


def _transcript(rng: random.Random, rows: Sequence[Mapping[str, Any]], start: datetime, end: datetime,
                topic: str) -> bytes:
    speakers = _speakers(rows)
    total = max(60.0, (end - start).total_seconds())
    out = ["WEBVTT", ""]
    t = 5.0
    n = 0
    while t < total - 10 and n < 400:
        n += 1
        span = rng.uniform(3, 9)
        line = rng.choice(_LINES) if n > 1 else f"Welcome to {topic}."
        out += [str(n), f"{_vtt(t)} --> {_vtt(t + span)}", f"{rng.choice(speakers)}: {line}", ""]
        t += span + rng.uniform(5, 60)
    return "\n".join(out).encode("utf-8")


def _vtt(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _chat(rng: random.Random, rows: Sequence[Mapping[str, Any]], start: datetime, end: datetime) -> bytes:
    speakers = _speakers(rows)
    total = max(60, int((end - start).total_seconds()))
    times = sorted(rng.randrange(30, total) for _ in range(rng.randrange(3, 12)))
    lines = []
    for t in times:
        h, rem = divmod(t, 3600)
        m, s = divmod(rem, 60)
        lines.append(f"{h:02d}:{m:02d}:{s:02d}\t From {rng.choice(speakers)} to Everyone:\n\t{rng.choice(_LINES)}")
    return ("\n".join(lines) + "\n").encode("utf-8")
