"""``oca-sync attendance …``: parse, call :mod:`oca_sync.attendance`, render. No logic here."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import Ctx, pass_ctx


@click.group()
def attendance() -> None:
    """Attendance from Zoom participant reports into Moodle's attendance registers."""


@attendance.command("match")
@click.option("--roster", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV: userid,username,firstname,lastname,email[,group].")
@click.option("--participants", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of Zoom's participant report: meeting_uuid,name,user_email,join_time,leave_time.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the result here (default: stdout).")
@pass_ctx
def attendance_match(c: Ctx, roster: Path, participants: Path, output: Path | None) -> None:
    """Match a participant export to a roster, offline (no Moodle, no Zoom).

    One output row per distinct (meeting_uuid, name, user_email): status
    match|ambiguous|none, the user id or the candidate ids, minutes present
    (rejoins merged) and the reason.

    \b
    Example:
      oca-sync attendance match --roster roster.csv --participants zoom.csv -o matched.csv
    """
    from .attendance.offline import match_files

    result = match_files(roster, participants)
    text = result.csv(output)
    if output is None:
        click.echo(text, nl=False)
    n = result.counts()
    c.err.print(f"{len(result.presences)} identities: {n['match']} matched, {n['ambiguous']} ambiguous, "
                f"{n['none']} not course users" + (f"; written to {output}" if output else ""), markup=False)
