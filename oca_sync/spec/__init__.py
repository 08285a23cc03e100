"""The course specification: load a YAML spec, validate it completely, expand its sessions.

``load_spec`` either returns a :class:`LoadedSpec` ready for planning or raises
:class:`~oca_sync.errors.SpecError` carrying *every* problem found (YAML syntax,
structure, cross-references, dates, files, rosters), each with file, line,
column and field path. Nothing here touches the network.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from oca_sync.errors import SpecError, SpecIssue, UsageError
from oca_sync.spec import checks, limits, multilang
from oca_sync.spec.loader import YamlDocument, format_path, load_yaml, validation_issues
from oca_sync.spec.models import CourseSpec, Member, MultiText, Session
from oca_sync.spec.paths import PathRefused, confine

__all__ = ["LoadedSpec", "PathRefused", "check_for_site", "load_spec", "parse_spec_text"]


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with its sessions expanded and its rosters read."""

    path: Path
    spec: CourseSpec
    sessions: dict[str, tuple[Session, ...]]  # by course shortname, sorted by start
    members: dict[str, tuple[Member, ...]]  # by organisation key: inline members + roster rows
    base_dir: Path | None = None  # where the spec's relative paths start (default: the spec's folder)
    files_root: Path | None = None  # the folder every named file must lie in (default: base_dir)
    notices: tuple[SpecIssue, ...] = ()  # worth telling the user, not errors (e.g. roster columns ignored)
    warnings: tuple[SpecIssue, ...] = ()  # likely mistakes (scheduling clashes); errors under --strict
    #: the parsed YAML, to locate problems found later (e.g. against the site's Moodle version)
    doc: YamlDocument | None = field(default=None, compare=False, repr=False)
    filename: str = ""

    def file(self, name: str) -> Path:
        """The real path of a file the spec names, checked again now (it was checked at load time).

        Checking again at use time means a symlink swapped in after validation is still refused.
        """
        base = self.base_dir if self.base_dir is not None else self.path.parent
        try:
            return confine(base, name, self.files_root)
        except PathRefused as e:
            raise UsageError(f"{self.path}: {e}") from None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.spec.programme.timezone)

    def text(self, t: MultiText) -> str:
        """Text for Moodle (multilang spans in the programme's languages)."""
        return multilang.render(t, self.spec.programme.languages)


def load_spec(path: str | Path, files_root: str | Path | None = None) -> LoadedSpec:
    """Load and fully validate the spec file at ``path``; raise ``SpecError`` listing every problem.

    Files the spec names (materials, rosters) must lie inside ``files_root`` (default: the spec's folder).
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device would block or never end
            raise SpecError([SpecIssue(str(path), None, None, "", "not a regular file")])
        text = path.read_text(encoding="utf-8-sig")  # tolerate the BOM some editors write
    except FileNotFoundError:
        raise SpecError([SpecIssue(str(path), None, None, "", "file not found")]) from None
    except UnicodeDecodeError as e:
        raise SpecError([SpecIssue(str(path), None, None, "", f"not UTF-8 text (byte {e.start})")]) from None
    except OSError as e:
        raise SpecError([SpecIssue(str(path), None, None, "", f"cannot read the file: {e.strerror}")]) from None
    return _parse(text, str(path), path.parent, path, _root(files_root))


def parse_spec_text(
    text: str, filename: str = "<string>", base_dir: Path | None = None, files_root: str | Path | None = None
) -> LoadedSpec:
    """Like :func:`load_spec` for text in memory; files it names are looked up in ``base_dir`` (default: cwd)."""
    return _parse(text, filename, base_dir if base_dir is not None else Path.cwd(), Path(filename), _root(files_root))


def _root(files_root: str | Path | None) -> Path | None:
    if files_root is None:
        return None
    root = Path(files_root)
    if not root.is_dir():
        raise SpecError([SpecIssue(str(root), None, None, "", "the files root is not a folder")])
    return root.resolve()


def _parse(text: str, filename: str, base_dir: Path, path: Path, files_root: Path | None = None) -> LoadedSpec:
    doc, issues = load_yaml(text, filename)
    if doc is None:
        raise SpecError(issues)
    try:
        spec = CourseSpec.model_validate(doc.data)
    except ValidationError as e:
        issues += _not_reported(validation_issues(e, doc, filename, CourseSpec), issues)
        raise SpecError(_sorted(issues, filename)) from None
    checked = checks.run(spec, base_dir, files_root)
    # (a field the YAML loader already complained about, e.g. a bad tag, is not reported again)
    issues += _not_reported([_issue(where, message, doc, filename) for where, message in checked.findings], issues)
    if issues:
        raise SpecError(_sorted(issues, filename))
    return LoadedSpec(
        path=path, spec=spec, sessions=checked.sessions, members=checked.members,
        base_dir=base_dir, files_root=files_root,
        notices=tuple(_issue(where, message, doc, filename) for where, message in checked.notices),
        warnings=tuple(_sorted([_issue(where, message, doc, filename) for where, message in checked.warnings],
                               filename)),
        doc=doc, filename=filename,
    )


def check_for_site(loaded: LoadedSpec, moodle_limits: limits.MoodleLimits) -> None:
    """Raise ``SpecError`` (file, line, field) if the spec does not fit the site's Moodle version.

    ``load_spec`` checked the newest Moodle's limits; an older site may hold
    less (e.g. 254 characters for a course's full name before 5.0). A person's
    fields have had the same sizes since 4.1, so rosters are not read again.
    """
    if moodle_limits == limits.NEWEST:
        return
    findings = limits.check_moodle(loaded.spec, loaded.sessions, moodle_limits)
    if not findings:
        return
    filename = loaded.filename or str(loaded.path)
    if loaded.doc is None:
        raise SpecError([SpecIssue(filename, None, None, format_path(w), m) for w, m in findings])
    raise SpecError(_sorted([_issue(w, m, loaded.doc, filename) for w, m in findings], filename))


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
