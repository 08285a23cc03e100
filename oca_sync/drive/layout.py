"""Where each recording and material goes in Drive, under which name and which key (pure).

``<root>/<Training | Mentoring | Events>/<NN date title>/<file>`` keeps the
recordings of training and of mentoring apart, as UNESCO asked, and
``<root>/Materials/<NN date title>/<file>`` holds the learning materials in
their original format. With several courses, a session folder's name starts
with the course's shortname.

**Keys.** Drive allows at most 124 bytes of UTF-8 for an ``appProperties`` key
plus its value, so a key that holds a title or a long shortname cannot be
stored. Every identity is therefore a digest (:func:`identity`) of everything
that makes the object unique: programme (prefix and key), course, session and
item. It is 32 hex digits whatever the script or length of its parts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ..spec import LoadedSpec
from ..spec.models import Session
from ..spec.multilang import plain

KIND_FOLDERS = {"training": "Training", "mentoring": "Mentoring", "event": "Events"}
MATERIALS = "Materials"

#: Zoom's recording_type values, as readable words for file names.
RECORDING_LABELS = {
    "shared_screen_with_speaker_view": "video",
    "shared_screen_with_speaker_view(CC)": "video (captions)",
    "shared_screen_with_gallery_view": "video (gallery)",
    "speaker_view": "video (speaker)",
    "gallery_view": "video (gallery)",
    "shared_screen": "video (screen)",
    "active_speaker": "video (speaker)",
    "audio_only": "audio",
    "audio_transcript": "transcript",
    "chat_file": "chat",
    "closed_caption": "captions",
    "timeline": "timeline",
    "poll": "poll",
    "summary": "summary",
}

MIME_TYPES = {
    "mp4": "video/mp4", "m4a": "audio/mp4", "vtt": "text/vtt", "txt": "text/plain", "json": "application/json",
    "csv": "text/csv", "pdf": "application/pdf", "md": "text/markdown",
}

_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f]+')


def safe_name(text: str, limit: int = 120) -> str:
    """A name that is readable and safe in Drive and when downloaded to any file system."""
    cleaned = _UNSAFE.sub(" ", text).strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    return cleaned[:limit].rstrip(" .") or "untitled"


#: Drive's limit for an ``appProperties`` key plus its value, in bytes of UTF-8 ("Add custom file properties").
PROPERTY_MAX_BYTES = 124


def identity(*parts: str) -> str:
    """A stable key of 32 hex digits for ``parts`` (128 bits of SHA-256): fits any property."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def fits(key: str, value: str) -> bool:
    return len(key.encode()) + len(value.encode()) <= PROPERTY_MAX_BYTES


def session_folder(session: Session, loaded: LoadedSpec, course: str | None = None) -> str:
    """``NN date title``; ``course`` (a shortname) goes first when the programme has several courses."""
    langs = list(loaded.spec.programme.languages)
    day = session.start.astimezone(loaded.tz).date().isoformat()
    name = f"{session.number:02d} {day} {plain(session.title, langs[0], langs)}"
    if course is not None and len(loaded.spec.courses) > 1:
        name = f"{course} {name}"
    return safe_name(name)


@dataclass(frozen=True)
class RecordingTarget:
    """One Zoom recording file and where it goes."""

    key: str  # the session's key (prefix:programme:course:session)
    kind_folder: str
    session_folder: str
    course: str  # the course's shortname
    name: str
    zoom_file_id: str
    meeting_uuid: str
    download_url: str
    size: int
    mime_type: str


def recording_targets(
    key: str, session: Session, loaded: LoadedSpec, instances: list[dict[str, Any]], file_types: list[str],
    course: str = "",
) -> list[RecordingTarget]:
    """The files to archive for one session; ``instances`` are Zoom's recordings objects, oldest first."""
    langs = list(loaded.spec.programme.languages)
    title = plain(session.title, langs[0], langs)
    wanted = {t.upper() for t in file_types}
    out = []
    for n, inst in enumerate(instances, start=1):
        part = f" (part {n})" if len(instances) > 1 else ""
        for f in inst.get("recording_files") or []:
            ftype = str(f.get("file_type", "")).upper()
            if ftype not in wanted or f.get("status", "completed") != "completed" or not f.get("download_url"):
                continue
            ext = str(f.get("file_extension") or ftype).lower()
            label = RECORDING_LABELS.get(str(f.get("recording_type", "")), str(f.get("recording_type") or ftype))
            day = session.start.astimezone(loaded.tz).date().isoformat()
            out.append(RecordingTarget(
                key=key, kind_folder=KIND_FOLDERS[session.kind], course=course,
                session_folder=session_folder(session, loaded, course or None),
                name=safe_name(f"{day} {title}{part} - {label}", 200) + f".{ext}",
                zoom_file_id=str(f["id"]), meeting_uuid=str(inst.get("uuid", "")),
                download_url=str(f["download_url"]), size=int(f.get("file_size") or 0),
                mime_type=MIME_TYPES.get(ext, "application/octet-stream"),
            ))
    return out
