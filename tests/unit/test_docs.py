"""Every command is documented in the README and its --help teaches with an example."""

from pathlib import Path

import click
import pytest

from oca_sync.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        path = prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)
        else:
            yield path, cmd


ALL = list(commands(cli))


def test_there_are_commands():
    assert len(ALL) >= 12


@pytest.mark.parametrize("path,cmd", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_is_in_the_readme_with_an_example_in_its_help(path, cmd):
    assert f"oca-sync {' '.join(path)}" in README, f"README does not document `oca-sync {' '.join(path)}`"
    assert "Example" in (cmd.help or ""), f"`oca-sync {' '.join(path)} --help` has no example"


def test_exit_codes_are_in_the_readme():
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in README


def test_every_spec_field_is_documented():
    from oca_sync.spec import models as m

    doc = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text(encoding="utf-8")
    missing = []
    for cls in (m.CourseSpec, m.Programme, m.MoodleSettings, m.Category, m.RoleMap, m.Course, m.SessionSpec,
                m.Recurrence, m.UrlContent, m.PageContent, m.FileContent, m.LabelContent, m.Survey, m.Question,
                m.Attendance, m.Organisation, m.Group, m.Member, m.Staff, m.ZoomSettings, m.DriveSettings,
                m.CourseCompletion, m.AttendanceRule, m.Campaign, m.CampaignPlatform, m.CampaignTargets,
                m.ReportSettings):
        missing += [f"{cls.__name__}.{name}" for name in cls.model_fields if name not in doc]
    assert not missing, f"docs/spec.md does not mention: {missing}"
