"""``oca-sync attendance …``: parse, call :mod:`oca_sync.attendance`, render. No logic here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .cli import Ctx

#: ctx.obj is the Ctx made by the top-level group (by object, not by class: `python -m oca_sync.cli`
#: loads cli.py twice, as __main__ and as oca_sync.cli)
pass_ctx = click.pass_obj


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


def _clients(c: Ctx) -> tuple[Any, Any]:
    from .cli import _moodle, _zoom
    from .errors import ConfigError

    client, _site = _moodle(c)
    zoom = _zoom(c)
    if zoom is None:
        raise ConfigError("attendance needs Zoom: set OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID and "
                          "OCA_ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app with report:read:admin)")
    return client, zoom


def _prepare(c: Ctx, spec: Path, sessions: tuple[str, ...]) -> tuple[Any, Any, Any, Any]:
    from .attendance import sync as att
    from .spec import load_spec

    loaded = load_spec(spec)
    client, zoom = _clients(c)
    store = c.store()
    with c.err.status("Reading Zoom and Moodle …") as st:
        aplan = att.prepare(client, zoom, loaded, store, only=set(sessions) or None,
                            status=lambda msg: st.update(msg))
    return loaded, client, store, aplan


def _session_table(c: Ctx, aplan: Any, tz: Any) -> None:
    from rich.table import Table

    t = Table(title="Attendance per session", show_lines=False)
    for col in ("session", "start", "state", "present", "late", "absent", "held", "unmatched", "review",
                "by hand", "to write"):
        t.add_column(col, justify="left" if col in ("session", "start", "state") else "right")
    for r in aplan.sessions:
        t.add_row(r.session, f"{r.start.astimezone(tz):%Y-%m-%d %H:%M}", r.state,
                  *(str(v) if r.state == "ended" else "" for v in (r.present, r.late, r.absent, r.held, r.unmatched,
                                                                   r.review, r.by_hand, r.writes)))
    c.out.print(t)


def _review_rows(aplan: Any) -> list[list[object]]:
    return [[i.session, i.meeting_uuid, i.name, i.email, f"{i.minutes:.1f}", i.outcome.status.value,
             "; ".join(i.candidates), i.outcome.reason, ""] for i in aplan.review]


REVIEW_COLUMNS = ("session", "meeting_uuid", "name", "user_email", "minutes", "status", "candidates", "reason",
                  "resolve")


def _resolve(c: Ctx, store: Any, aplan: Any, path: Path) -> int:
    from .attendance import sync as att
    from .attendance.files import read_resolutions

    ids = {u: i for i, u in aplan.usernames.items()}
    found = read_resolutions(path, ids)
    n = att.remember(store, aplan.scope, found, aplan.usernames)
    c.err.print(f"Remembered {n} confirmed mapping(s) from {path}.", markup=False)
    return n


@attendance.command("review")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the review list as CSV (fill in its 'resolve' column, then pass it to --resolve).")
@click.option("--resolve", type=click.Path(dir_okay=False, path_type=Path, exists=True),
              help="A filled-in review CSV: remember its decisions (username, user id, or 'none') for this programme.")
@click.option("--session", "sessions", multiple=True, metavar="KEY", help="Only this session (repeatable).")
@pass_ctx
def attendance_review(c: Ctx, spec: Path, output: Path | None, resolve: Path | None,
                      sessions: tuple[str, ...]) -> None:
    """List the Zoom participants a person must decide: ambiguous, or not found but looking like people.

    Decisions go in the 'resolve' column (a username, a user id, or 'none'
    for someone who is not a course user) and are remembered per programme in
    the state store: the same Zoom name is matched next time. Writes nothing
    to Moodle.

    \b
    Examples:
      oca-sync attendance review spec.yaml --output review.csv
      oca-sync attendance review spec.yaml --resolve review.csv
    """
    from .attendance.files import write_csv

    loaded, client, store, aplan = _prepare(c, spec, sessions)
    if resolve is not None:
        _resolve(c, store, aplan, resolve)
        loaded, client, store, aplan = _prepare(c, spec, sessions)
    rows = _review_rows(aplan)
    if output is not None:
        write_csv(output, REVIEW_COLUMNS, rows)
        c.err.print(f"{len(rows)} to review, written to {output}.", markup=False)
        return
    if not rows:
        c.out.print("Nothing to review.")
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} to review")
    for col in ("session", "name", "user_email", "minutes", "status", "candidates", "reason"):
        t.add_column(col)
    for r in rows:
        t.add_row(*(str(r[i]) for i in (0, 2, 3, 4, 5, 6, 7)))
    c.out.print(t)


@attendance.command("sync")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (and the per-session table) as JSON; writes nothing.")
@click.option("--detailed-exitcode", is_flag=True, help="Plan only: exit 0 when nothing is to write, 3 when there is.")
@click.option("--resolve", type=click.Path(dir_okay=False, path_type=Path, exists=True),
              help="Remember the decisions of a filled-in review CSV first.")
@click.option("--session", "sessions", multiple=True, metavar="KEY", help="Only this session (repeatable).")
@pass_ctx
def attendance_sync(c: Ctx, spec: Path, yes: bool, as_json: bool, detailed_exitcode: bool, resolve: Path | None,
                    sessions: tuple[str, ...]) -> None:
    """Fill Moodle's attendance registers from Zoom's participant reports.

    For every session that has ended: its Zoom instances' participants are
    merged (rejoins), matched to the course's users, and Present / Late /
    Absent written through mod_attendance's web services. A status a person
    set in Moodle is never overwritten (shown as drift); Absent waits while
    the session has participants to review. Running it again writes nothing.

    \b
    Examples:
      oca-sync attendance sync spec.yaml
      oca-sync attendance sync --yes spec.yaml
      oca-sync attendance sync --detailed-exitcode spec.yaml || echo "statuses to write"
    """
    import json
    import sys

    from .attendance import sync as att
    from .cli import _print_plan
    from .errors import ExitCode, OcaError

    loaded, client, store, aplan = _prepare(c, spec, sessions)
    if resolve is not None:
        _resolve(c, store, aplan, resolve)
        loaded, client, store, aplan = _prepare(c, spec, sessions)
    if as_json:
        doc = aplan.plan.to_json()
        doc["sessions"] = [{"session": r.session, "start": r.start.isoformat(), "state": r.state,
                            "instances": r.instances, "present": r.present, "late": r.late, "absent": r.absent,
                            "held": r.held, "unmatched": r.unmatched, "review": r.review, "by_hand": r.by_hand,
                            "to_write": r.writes} for r in aplan.sessions]
        doc["review"] = [dict(zip(REVIEW_COLUMNS[:-1], r[:-1], strict=True)) for r in _review_rows(aplan)]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _session_table(c, aplan, loaded.tz)
        _print_plan(c, aplan.plan, loaded.tz)
        if aplan.review:
            c.out.print(f"{len(aplan.review)} participant(s) to review: oca-sync attendance review {spec}",
                        markup=False)
    if any(n.level == "error" for n in aplan.plan.notices):
        raise click.exceptions.Exit(ExitCode.ERROR)
    if as_json or detailed_exitcode:
        if detailed_exitcode and aplan.plan.changes:
            raise click.exceptions.Exit(ExitCode.CHANGES)
        return
    if not aplan.plan.changes:
        att.save_records(store, aplan, aplan.written)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise OcaError("attendance sync needs confirmation: run it on a terminal or pass --yes")
        if not click.confirm("Write these statuses?", default=False, err=True):
            return
    with store.lock(f"apply:{aplan.scope}", "attendance sync"):
        result = att.apply(client, aplan, store)
    c.out.print(f"Attendance written: {result.written} status(es) ({client.stats.writes} write calls).")
