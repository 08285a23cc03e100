"""The course specification: load a YAML spec, validate it completely, expand its sessions.

``load_spec`` either returns a :class:`LoadedSpec` ready for planning or raises
:class:`~oca_sync.errors.SpecError` carrying *every* problem found (YAML syntax,
structure, cross-references, dates, files, rosters), each with file, line,
column and field path. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from oca_sync.errors import SpecError, SpecIssue
from oca_sync.spec import checks, multilang
from oca_sync.spec.loader import YamlDocument, format_path, load_yaml, validation_issues
from oca_sync.spec.models import CourseSpec, Member, MultiText, Session

__all__ = ["LoadedSpec", "load_spec", "parse_spec_text"]


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with its sessions expanded and its rosters read."""

    path: Path
    spec: CourseSpec
    sessions: dict[str, tuple[Session, ...]]  # by course shortname, sorted by start
    members: dict[str, tuple[Member, ...]]  # by organisation key: inline members + roster rows

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.spec.programme.timezone)

    def text(self, t: MultiText) -> str:
        """Text for Moodle (multilang spans in the programme's languages)."""
        return multilang.render(t, self.spec.programme.languages)


def load_spec(path: str | Path) -> LoadedSpec:
    """Load and fully validate the spec file at ``path``; raise ``SpecError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate the BOM some editors write
    except FileNotFoundError:
        raise SpecError([SpecIssue(str(path), None, None, "", "file not found")]) from None
    except UnicodeDecodeError as e:
        raise SpecError([SpecIssue(str(path), None, None, "", f"not UTF-8 text (byte {e.start})")]) from None
    except OSError as e:
        raise SpecError([SpecIssue(str(path), None, None, "", f"cannot read the file: {e.strerror}")]) from None
    return _parse(text, str(path), path.parent, path)


def parse_spec_text(text: str, filename: str = "<string>", base_dir: Path | None = None) -> LoadedSpec:
    """Like :func:`load_spec` for text in memory; files it names are looked up in ``base_dir`` (default: cwd)."""
    return _parse(text, filename, base_dir if base_dir is not None else Path.cwd(), Path(filename))


def _parse(text: str, filename: str, base_dir: Path, path: Path) -> LoadedSpec:
    doc, issues = load_yaml(text, filename)
    if doc is None:
        raise SpecError(issues)
    try:
        spec = CourseSpec.model_validate(doc.data)
    except ValidationError as e:
        issues += _not_reported(validation_issues(e, doc, filename, CourseSpec), issues)
        raise SpecError(_sorted(issues, filename)) from None
    checked = checks.run(spec, base_dir)
    issues += [_issue(where, message, doc, filename) for where, message in checked.findings]
    if issues:
        raise SpecError(_sorted(issues, filename))
    return LoadedSpec(path=path, spec=spec, sessions=checked.sessions, members=checked.members)


def _issue(where: checks.Location, message: str, doc: YamlDocument, filename: str) -> SpecIssue:
    if isinstance(where, checks.CsvLocation):
        return SpecIssue(where.file, where.line, None, where.column, message)
    line, column = doc.locate(where)
    return SpecIssue(filename, line, column, format_path(where), message)


def _not_reported(new: list[SpecIssue], known: list[SpecIssue]) -> list[SpecIssue]:
    """Drop validation issues at or under a field the YAML loader already complained about (e.g. a bad tag)."""
    paths = {i.path for i in known}

    def covered(path: str) -> bool:
        return any(path == p or path.startswith((p + ".", p + "[")) for p in paths)

    return [i for i in new if not covered(i.path)]


def _sorted(issues: list[SpecIssue], filename: str) -> list[SpecIssue]:
    """Spec file first, then other files (rosters), each in line order."""
    return sorted(issues, key=lambda i: (i.file != filename, i.file, i.line or 0, i.column or 0))
