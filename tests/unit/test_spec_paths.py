"""Every file a spec names stays inside the spec's folder (or --files-root): nothing else is ever published."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from oca_sync.cli import cli
from oca_sync.errors import SpecError, UsageError
from oca_sync.spec import load_spec
from oca_sync.spec.paths import PathRefused, confine

from .test_spec_checks import BASE, ROSTER_SPEC

SECRET = "root:x:0:0:TOP-SECRET-LINE"


def spec_with_path(tmp_path: Path, path: str) -> Path:
    spec_dir = tmp_path / "programme"
    spec_dir.mkdir(exist_ok=True)
    (spec_dir / "notes.md").write_text("# Notes\n", encoding="utf-8")
    spec = spec_dir / "spec.yaml"
    spec.write_text(BASE.replace("path: notes.md", f"path: {path!r}"), encoding="utf-8")
    return spec


def path_issue(spec: Path, **kw: object) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(spec, **kw)  # type: ignore[arg-type]
    issues = [i for i in info.value.issues if i.path == "courses[0].sessions[0].content[0].path"]
    assert len(issues) == 1, info.value.issues
    assert issues[0].line == 21  # the line of the path in the spec
    return issues[0].message


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    return secret


def test_absolute_path_is_refused(tmp_path: Path, outside: Path) -> None:
    message = path_issue(spec_with_path(tmp_path, str(outside)))
    assert "absolute path" in message and SECRET not in message


def test_climbing_out_is_refused(tmp_path: Path, outside: Path) -> None:
    message = path_issue(spec_with_path(tmp_path, "../secret.txt"))
    assert "outside the spec's folder" in message


def test_symlink_to_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    spec = spec_with_path(tmp_path, "slides.pdf")
    (spec.parent / "slides.pdf").symlink_to(outside)
    assert "outside the spec's folder" in path_issue(spec)


def test_symlinked_folder_to_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    spec = spec_with_path(tmp_path, "shared/secret.txt")
    (spec.parent / "shared").symlink_to(tmp_path)
    assert "outside the spec's folder" in path_issue(spec)


def test_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    spec = spec_with_path(tmp_path, "alias.md")
    (spec.parent / "alias.md").symlink_to(spec.parent / "notes.md")
    loaded = load_spec(spec)
    assert loaded.file("alias.md") == (spec.parent / "notes.md").resolve()


def test_special_files_are_refused(tmp_path: Path) -> None:
    spec = spec_with_path(tmp_path, "pipe")
    os.mkfifo(spec.parent / "pipe")  # reading it would block forever
    assert "not a regular file" in path_issue(spec)
    spec = spec_with_path(tmp_path, "folder")
    (spec.parent / "folder").mkdir()
    assert "is a folder" in path_issue(spec)
    spec = spec_with_path(tmp_path, "null")
    (spec.parent / "null").symlink_to("/dev/null")
    assert "outside" in path_issue(spec)  # outside first; a device inside a root is refused below
    assert "not a regular file" in path_issue(spec, files_root="/")


def test_files_root_allows_a_wider_folder(tmp_path: Path, outside: Path) -> None:
    spec = spec_with_path(tmp_path, "../secret.txt")
    loaded = load_spec(spec, files_root=tmp_path)
    assert loaded.file("../secret.txt") == outside.resolve()
    # and still nothing beyond it
    spec = spec_with_path(tmp_path, "../../etc/hostname")
    assert "outside the files root" in path_issue(spec, files_root=tmp_path)


def test_file_is_checked_again_when_used(tmp_path: Path, outside: Path) -> None:
    spec = spec_with_path(tmp_path, "slides.md")
    (spec.parent / "slides.md").write_text("fine\n", encoding="utf-8")
    loaded = load_spec(spec)
    (spec.parent / "slides.md").unlink()
    (spec.parent / "slides.md").symlink_to(outside)  # swapped in after validation
    with pytest.raises(UsageError, match="outside the spec's folder"):
        loaded.file("slides.md")


def test_roster_outside_is_refused_and_never_echoed(tmp_path: Path, outside: Path) -> None:
    spec_dir = tmp_path / "programme"
    spec_dir.mkdir()
    (spec_dir / "notes.md").write_text("# Notes\n", encoding="utf-8")
    spec = spec_dir / "spec.yaml"
    spec.write_text(ROSTER_SPEC.replace("people/org.csv", "../secret.txt"), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "outside the spec's folder" in text and SECRET not in text


def test_roster_that_is_not_a_roster_is_not_echoed(tmp_path: Path) -> None:
    spec_dir = tmp_path / "programme"
    (spec_dir / "people").mkdir(parents=True)
    (spec_dir / "notes.md").write_text("# Notes\n", encoding="utf-8")
    (spec_dir / "people" / "org.csv").write_text(SECRET + "\nmore\n", encoding="utf-8")
    spec = spec_dir / "spec.yaml"
    spec.write_text(ROSTER_SPEC, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "not a roster header" in text and "TOP-SECRET" not in text


def test_confine_refuses_empty_and_windows_paths(tmp_path: Path) -> None:
    for bad in ("", "  ", "C:\\Windows\\win.ini", "\\\\server\\share\\x", "a\0b"):
        with pytest.raises(PathRefused):
            confine(tmp_path, bad)


def test_cli_validate_refuses_with_exit_2(tmp_path: Path, outside: Path) -> None:
    spec = spec_with_path(tmp_path, "../secret.txt")
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 2, result.output
    assert "outside the spec's folder" in result.output and SECRET not in result.output
    result = CliRunner().invoke(cli, ["--files-root", str(tmp_path), "validate", str(spec)])
    assert result.exit_code == 0, result.output


def test_spec_that_is_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "spec.yaml")
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(tmp_path / "spec.yaml")
