"""The ``oca-sync`` command: parse options, call the core, render, exit.

No logic lives here: see :mod:`oca_sync.sync` and the packages it uses.
Status and progress go to stderr, results (plans, JSON) to stdout.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__, logsafe
from .config import MAX_CONCURRENCY, Settings, SiteOptions, load_settings
from .errors import ConfigError, ExitCode, OcaError, SpecError, UsageError
from .plan import Change, Plan, render_lines
from .spec import LoadedSpec, load_spec
from .state import StateStore

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (plan: no changes with --detailed-exitcode)
  1  operational error (a service failed, a conflict on the site, a lock held)
  2  invalid input or usage (bad spec, bad option, missing setting); nothing written
  3  plan --detailed-exitcode: changes are pending
  130 interrupted (Ctrl-C)
  143 stopped by SIGTERM (cleaned up as for Ctrl-C)"""


class Ctx:
    def __init__(
        self, config: str | None, state: str | None, verbose: int, color: bool | None, files_root: Path | None = None
    ) -> None:
        self.config_file = config
        self.files_root = files_root
        self.state_override = state
        self.out = Console(no_color=color is False, force_terminal=color or None, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, no_color=color is False, highlight=False)
        level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(
            level=level, format="%(message)s", handlers=[RichHandler(console=self.err, show_path=False, log_time_format="%Y-%m-%dT%H:%M:%S")], force=True
        )
        logsafe.install()  # no credential in any log line, urllib3's and googleapiclient's included
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    def load(self, spec: Path, strict: bool = False) -> LoadedSpec:
        """Load and validate a spec; the files it names must lie in --files-root (default: its folder).

        Notices and warnings go to stderr; with ``strict``, warnings are errors (exit 2, nothing written).
        """
        loaded = load_spec(spec, self.files_root)
        for notice in loaded.notices:
            self.err.print(f"[cyan]Notice:[/cyan] {escape(str(notice))}")
        if strict and loaded.warnings:
            raise SpecError(list(loaded.warnings), what="warning", why=" (--strict)")
        for warning in loaded.warnings:
            self.err.print(f"[bold yellow]Warning:[/bold yellow] {escape(str(warning))}")
        return loaded

    def store(self) -> StateStore:
        return StateStore(self.state_override or self.settings.state_url())


pass_ctx = click.make_pass_decorator(Ctx)


def spec_argument(f: F) -> F:
    return click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))(f)


def strict_option(f: F) -> F:
    return click.option(
        "--strict", is_flag=True,
        help="Treat warnings about the schedule (double-booked hosts, overlaps, long sessions) as errors.",
    )(f)


def prune_option(f: F) -> F:
    return click.option(
        "--prune", is_flag=True, help="Also delete objects carrying our key that the spec no longer has."
    )(f)


class OcaGroup(click.Group):
    """Turns the core's errors into a message and their documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OcaError as e:
            click.echo(f"Error: {logsafe.redact_text(str(e))}", err=True)
            ctx.exit(e.exit_code)
        except OSError as e:
            # A local file that cannot be read or written (output into a missing folder, a full disk):
            # one line naming the file, never a traceback. Remote failures arrive as OcaError above.
            logging.getLogger(__name__).debug("local file error", exc_info=True)
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"Error: {where}{e.strerror or e}", err=True)
            ctx.exit(ExitCode.USAGE if e.filename else ExitCode.ERROR)


@click.group(cls=OcaGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oca-sync")
@click.option("--config", "config", metavar="FILE", envvar="OCA_CONFIG",
              help="TOML config file (default: ~/.config/oca-sync/config.toml).")
@click.option("--state", metavar="URL|PATH", help="State store: a SQLite file path or a SQLAlchemy URL (default: a SQLite file under ~/.local/state).")
@click.option("-v", "--verbose", count=True, help="More output on stderr (-vv for debug).")
@click.option("--color/--no-color", default=None, help="Force or disable colours (default: on a terminal).")
@click.option("--files-root", metavar="DIR", envvar="OCA_FILES_ROOT",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder that every file the spec names (materials, rosters) must lie in "
                   "(default: the spec's own folder). Files outside it are refused, never published.")
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, state: str | None, verbose: int, color: bool | None,
    files_root: Path | None,
) -> None:
    """Push a training programme described in one YAML file into Moodle.

    \b
    Start here:
      oca-sync demo                         the whole job on a local sandbox, no credentials
      oca-sync validate course_spec/oca-kyrgyzstan-2022.yaml
      export OCA_MOODLE_URL=https://moodle.example.org OCA_MOODLE_TOKEN=...
      oca-sync plan course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync apply course_spec/oca-kyrgyzstan-2022.yaml
    """
    ctx.obj = Ctx(config, state, verbose, color, files_root)


# -- init -----------------------------------------------------------------------


@cli.command()
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--key", default="myprog", show_default=True, help="The programme's key (part of every Moodle idnumber).")
@click.option("--timezone", default="Asia/Bishkek", show_default=True, help="IANA time zone of the session times.")
def init(folder: Path, key: str, timezone: str) -> None:
    """Write a short, commented starting spec into FOLDER (default: here).

    One course, two sessions next week, an organisation with a roster, a
    trainer and a material file: it validates and applies as it is, so you
    can try it on the sandbox before making it yours. Nothing is overwritten.

    \b
    Example:
      oca-sync init my-programme --key cohort1 --timezone Asia/Almaty
      oca-sync validate my-programme/programme.yaml
      oca-sync sandbox my-programme/programme.yaml
    """
    from .starter import write_starter

    started = write_starter(folder, key=key, timezone=timezone)
    for path in started.files:
        click.echo(f"wrote {path}")
    click.echo(f"\nNext: edit {started.spec}, then\n  oca-sync validate {started.spec}\n"
               f"  oca-sync sandbox {started.spec}    # try it on local emulators")


# -- validate -------------------------------------------------------------------


@cli.command()
@spec_argument
@strict_option
@pass_ctx
def validate(c: Ctx, spec: Path, strict: bool) -> None:
    """Check a course spec without contacting any service.

    Every problem is reported at once with file, line, column and field.

    \b
    Example:
      oca-sync validate course_spec/oca-kyrgyzstan-2022.yaml
    """
    loaded = c.load(spec, strict)
    s = loaded.spec
    n_sessions = sum(len(v) for v in loaded.sessions.values())
    n_people = sum(len(v) for v in loaded.members.values()) + len(s.staff)
    warned = f" with {len(loaded.warnings)} warning(s)" if loaded.warnings else ""
    c.out.print(
        f"{spec}: valid{warned}. Programme {s.programme.key}: {len(s.courses)} course(s), {n_sessions} sessions, "
        f"{len(s.organisations)} organisations, {n_people} people."
    )


# -- plan -----------------------------------------------------------------------


def _moodle(c: Ctx) -> tuple[Any, SiteOptions]:
    from .moodle.client import MoodleClient

    ms = c.settings.moodle()
    return MoodleClient(ms.url, ms.token.get_secret_value(), timeout=ms.timeout, concurrency=ms.concurrency), ms.site


def _zoom(c: Ctx) -> Any:
    from .zoom.client import ZoomClient

    zs = c.settings.zoom()
    if zs is None:
        return None
    return ZoomClient(zs.account_id, zs.client_id, zs.client_secret.get_secret_value(), api_base=zs.api_url,
                      oauth_url=zs.oauth_url)


def _print_plan(c: Ctx, plan: Plan, tz: Any = None) -> None:
    color = c.out.is_terminal and not c.out.no_color
    for line in render_lines(plan, color=color, tz=tz):
        if color:
            c.out.print(line)
        else:
            c.out.print(line, markup=False)


@cli.command()
@spec_argument
@prune_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as a versioned JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 3 when there are.")
@click.option("--out", "out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan to FILE; `apply FILE` then applies exactly it, or refuses if anything moved.")
@strict_option
@pass_ctx
def plan(c: Ctx, spec: Path, prune: bool, as_json: bool, detailed_exitcode: bool, out: Path | None,
         strict: bool) -> None:
    """Show what apply would change in Moodle and Zoom, and what changed outside oca-sync.

    Reads the sites, writes nothing to them. Markers: + create, ~ update, - delete.

    \b
    Examples:
      oca-sync plan course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync plan --json spec.yaml > plan.json
      oca-sync plan --detailed-exitcode spec.yaml || echo "changes pending"
      oca-sync plan --out reviewed.plan spec.yaml && oca-sync apply reviewed.plan
    """
    from . import sync

    loaded = c.load(spec, strict)
    client, site = _moodle(c)
    store = c.store()
    with c.err.status("Reading Moodle …") as st:
        prep = sync.prepare(client, loaded, site, store, prune=prune, zoom=_zoom(c),
                            hooks=sync.Hooks(status=lambda msg: st.update(msg)))
    if as_json:
        prep.plan.write_json(sys.stdout)  # streamed: a plan of 100,000 people needs no copy of itself in memory
    else:
        _print_plan(c, prep.plan, loaded.tz)
    if out is not None:
        from . import saved_plan

        saved_plan.save(out, loaded, prep.plan, prune=prune)
        c.err.print(f"Saved the plan to {escape(str(out))}; `oca-sync apply {escape(str(out))}` applies exactly it.")
    _warnings(c, client)
    if sync.plan_errors(prep.plan):
        raise click.exceptions.Exit(ExitCode.ERROR)
    if detailed_exitcode and not prep.plan.empty:
        raise click.exceptions.Exit(ExitCode.CHANGES)


# -- apply ----------------------------------------------------------------------


def run_apply(c: Ctx, loaded: LoadedSpec, client: Any, site: SiteOptions, store: StateStore, *,
              prune: bool, yes: bool, zoom: Any = None, expect: Callable[[Plan], None] | None = None,
              now: Callable[[], Any] | None = None) -> Any:
    """Apply with the plan shown, a confirmation and a progress bar (shared by apply and demo)."""
    from . import sync

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=c.err, transient=True)
    task: list[Any] = []

    def confirm(p: Plan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise OcaError("apply needs confirmation: run it on a terminal or pass --yes")
        return click.confirm("Apply these changes?", default=False, err=True)

    def start(total: int) -> None:
        progress.start()
        task.append(progress.add_task("Applying", total=total))

    def step(change: Change) -> None:
        progress.update(task[-1], advance=1, description=f"{change.action.marker} {change.address}"[:60])

    hooks = sync.Hooks(status=lambda msg: c.err.print(f"[dim]{msg}[/dim]"),
                       show_plan=lambda p: _print_plan(c, p, loaded.tz),
                       confirm=confirm, progress_start=start, progress=step)
    try:
        return sync.apply(client, loaded, site, store, prune=prune, hooks=hooks, zoom=zoom, expect=expect, now=now)
    finally:
        progress.stop()


@cli.command()
@click.argument("spec", metavar="SPEC|PLANFILE", type=click.Path(dir_okay=False, path_type=Path))
@prune_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), metavar="N",
              help="Moodle write batches sent at once (default: OCA_MOODLE_CONCURRENCY, or 4).")
@strict_option
@pass_ctx
def apply(c: Ctx, spec: Path, prune: bool, yes: bool, concurrency: int | None, strict: bool) -> None:
    """Make Moodle and Zoom match the spec.

    Re-reads the sites, shows the plan, asks (unless --yes), applies with
    progress and ends with counts. Running it again makes no write.
    Only one apply per programme and site runs at a time.

    Given a plan saved by `plan --out`, applies exactly that plan without
    asking again, and refuses (nothing written) if the spec, a file it
    names or the site changed since.

    \b
    Examples:
      oca-sync apply course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync apply --yes --prune spec.yaml
      oca-sync apply reviewed.plan
      oca-sync apply --concurrency 1 spec.yaml    # one request at a time
    """
    from . import saved_plan

    expect = None
    if saved_plan.is_saved_plan(spec):
        if prune:
            raise UsageError("a saved plan records whether it prunes: do not give --prune with it")
        saved = saved_plan.load(spec)
        loaded = c.load(saved.spec, strict)
        saved_plan.check_spec(saved, loaded)
        prune, yes = saved.prune, True  # reviewed when it was saved

        def expect(p: Plan) -> None:
            saved_plan.check_plan(saved, p)
    else:
        loaded = c.load(spec, strict)
    client, site = _moodle(c)
    if concurrency is not None:
        client.concurrency = concurrency
    result = run_apply(c, loaded, client, site, c.store(), prune=prune, yes=yes, zoom=_zoom(c), expect=expect)
    _warnings(c, client)
    _report(c, result, client)


def _report(c: Ctx, result: Any, client: Any) -> None:
    n = result.counts
    if result.applied:
        c.out.print(f"Apply complete: {n.created} added, {n.updated} changed, {n.deleted} deleted "
                    f"({client.stats.writes} write calls, {client.stats.total} calls in all).")
    elif not result.plan.empty:
        c.out.print("Nothing applied.")


def _warnings(c: Ctx, client: Any) -> None:
    for w in client.warnings:
        c.err.print(f"[yellow]Moodle warning:[/yellow] {w}", markup=True)


# -- sandbox and demo -------------------------------------------------------------


@cli.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--moodle-port", default=0, type=click.IntRange(0, 65535), help="Port of the Moodle emulator (0: any).")
@click.option("--zoom-port", default=0, type=click.IntRange(0, 65535), help="Port of the Zoom emulator (0: any).")
@click.option("--drive-port", default=0, type=click.IntRange(0, 65535), help="Port of the Drive emulator (0: any).")
@pass_ctx
def sandbox(c: Ctx, spec: Path | None, moodle_port: int, zoom_port: int, drive_port: int) -> None:
    """Run the local emulators of Moodle, Zoom and Drive until Ctrl-C.

    They listen on 127.0.0.1 only and keep their data in memory. With a SPEC,
    its staff are the Zoom users and Zoom's clock stands two weeks before the
    programme, so that its sessions are upcoming meetings.

    \b
    Example:
      oca-sync sandbox course_spec/oca-kyrgyzstan-2022.yaml
      # in another shell, paste the printed exports, then:
      oca-sync apply course_spec/oca-kyrgyzstan-2022.yaml
    """
    from .demo import sandboxes

    loaded = c.load(spec) if spec else None
    with sandboxes(loaded, moodle_port=moodle_port, zoom_port=zoom_port, drive_port=drive_port) as sb:
        c.out.print(f"Moodle emulator at {sb.moodle.url}, Zoom emulator at {sb.zoom.url}, Drive emulator at "
                    f"{sb.drive.url}.")
        _run_sandboxes(c, sb)


def _run_sandboxes(c: Ctx, sb: Any) -> None:
    """Print the settings that point oca-sync at the sandboxes, then serve until Ctrl-C."""
    c.out.print("Use them with:")
    for k, v in sb.env().items():
        c.out.print(f"  export {k}={v}", markup=False)
    c.out.print("Press Ctrl-C to stop.")
    try:
        sb.moodle.wait()
    except KeyboardInterrupt:
        c.err.print("Stopped.")


@cli.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keep-running", is_flag=True, help="Leave the sandbox running afterwards to explore it.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the demo's final report goes (default: a new folder under the temporary directory).")
@pass_ctx
def demo(c: Ctx, spec: Path | None, keep_running: bool, report_dir: Path | None) -> None:
    """Run the whole job on the built-in sandbox: no credentials needed.

    \b
    1. validates the spec (default: the OCA Kyrgyzstan programme);
    2. starts local emulators of Moodle (with the companion plugin and
       mod_attendance), Zoom and Google Drive;
    3. shows the plan and applies it: Zoom meetings, then Moodle with the
       join links;
    4. plans again to show that nothing is left to change;
    5. moves Zoom's clock past the programme and archives the recordings
       and the materials to Drive, verified, shared as the spec says;
    6. fills the attendance registers from the sessions' participant
       reports (the spec's members, as Zoom shows people), shows that
       a second run writes nothing, and applies again: with every register
       taken, the attendance activity becomes a course completion criterion.
    7. makes up what the participants answered in the Moodle sandbox
       (survey answers, campaign check-ins), collects it and
       builds the final report, and prints where report.html is.

    \b
    Example:
      oca-sync demo
      oca-sync demo my-programme.yaml --keep-running
      oca-sync demo --report-dir ./demo-report
    """
    import tempfile

    from . import sync
    from .demo import default_spec, sandboxes

    path = spec or default_spec()
    loaded = c.load(path)
    c.out.print(f"[bold]1. Spec[/bold] {path}: valid ({sum(len(v) for v in loaded.sessions.values())} sessions).")
    with tempfile.TemporaryDirectory(prefix="oca-demo-") as tmp, sandboxes(loaded) as sb:
        c.out.print(f"[bold]2. Sandbox[/bold] Moodle emulator at {sb.moodle.url}, Zoom emulator at {sb.zoom.url}")
        client, zoom = sb.moodle_client(), sb.zoom_client()
        store = StateStore(f"sqlite:///{tmp}/state.sqlite")
        c.out.print("[bold]3. Apply[/bold]")
        result = run_apply(c, loaded, client, sb.site(), store, prune=False, yes=True, zoom=zoom, now=sb.zoom.now)
        _report(c, result, client)
        c.out.print("[bold]4. Plan again[/bold] (must change nothing)")
        moodle_writes, zoom_calls = client.stats.writes, zoom.stats.total
        again = sync.prepare(client, loaded, sb.site(), store, zoom=zoom, now=sb.zoom.now)
        c.out.print(f"{again.plan.summary()} Moodle writes in this pass: {client.stats.writes - moodle_writes}; "
                    f"Zoom calls: {zoom.stats.total - zoom_calls} (listings only).")
        links = again.links
        if links:
            key, link = next(iter(sorted(links.items())))
            c.out.print(f"{len(links)} sessions have a Zoom join link in Moodle, e.g. {key.split(':')[-1]}: {link}",
                        markup=False)
        if not again.plan.empty:
            raise OcaError("the second pass still has changes: this is a bug, please report it")
        c.out.print("[bold]5. Archive[/bold] the programme is over (Zoom's clock moves to May 2022): recordings "
                    "and materials go to Drive, verified")
        from .cli_archive import ArchiveProgress
        from .demo import apply_after_registers, archive_after_programme, attendance_after_programme, give_participants

        give_participants(sb, loaded, zoom)
        progress = ArchiveProgress(c.err)
        try:
            rec, mat, shared = archive_after_programme(sb, loaded, store, zoom, progress)
        finally:
            progress.stop()
        for title, report in (("recordings", rec), ("materials", mat)):
            c.out.print(f"  {title}: {report.count('archived')} archived, {report.count('skipped')} skipped, "
                        f"{report.count('failed')} failed, {report.bytes_sent:,} bytes uploaded")
        c.out.print(f"  shared with {', '.join(shared) or 'nobody new'}; folders: Training, Mentoring, Events, "
                    "Materials")
        c.out.print("[bold]6. Attendance[/bold] Zoom participant reports matched to the course's users and "
                    "written to Moodle's attendance registers")
        first, written, again = attendance_after_programme(sb, loaded, store, client, zoom)
        ended = [r for r in first.sessions if r.state == "ended"]
        c.out.print(f"  {len(ended)} sessions: {sum(r.present for r in ended)} present, "
                    f"{sum(r.late for r in ended)} late, {sum(r.absent for r in ended)} absent, "
                    f"{sum(r.held for r in ended)} held for review ({len(first.review)} participants to review: "
                    f"oca-sync attendance review); {written.written} statuses written; "
                    f"re-run: {len(again.plan.changes)} to write", markup=False)
        after = apply_after_registers(sb, loaded, store, client, zoom)
        criteria = [c.key for c in after.plan.changes if c.kind == "completion"]
        c.out.print(f"  apply again, the registers filled: {after.plan.summary()}"
                    + (f" (the attendance activity is now a course completion criterion of {', '.join(criteria)})"
                       if criteria else ""), markup=False)
        from .demo import report_after_programme

        folder = report_dir or Path(tempfile.mkdtemp(prefix="oca-demo-report-"))
        counts, calls, built, posted = report_after_programme(sb, loaded, store, folder)
        own = " (each organisation in its own check-in activity)" if counts["checkins"] else ""
        c.out.print(f"[bold]7. Report[/bold] made-up outcomes in the sandbox: {counts['responses']} survey "
                    f"responses, {counts['checkins']} campaign check-ins{own}; collected with {calls} Moodle calls")
        c.out.print(f"  The report is at {built.folder.resolve() / 'report.html'}", markup=False)
        c.out.print(f"  beside it: {', '.join(built.files[1:])}", markup=False)
        if posted is not None:
            c.out.print(f"  Event report {posted.subject!r} posted to {posted.course}'s {posted.forum_name!r} "
                        f"forum (discussion {posted.discussion}; oca-sync report session --post)", markup=False)
        if keep_running:
            c.out.print("Sandbox left running.")
            _run_sandboxes(c, sb)


# -- calendar ------------------------------------------------------------------------


@cli.group()
def calendar() -> None:
    """Calendars of the programme's sessions."""


@calendar.command("export")
@spec_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: <programme>[-<organisation>].ics).")
@click.option("--org", "organisation", metavar="KEY",
              help="Only the sessions of this organisation (or group): its courses, without other groups' sessions.")
@click.option("--lang", metavar="CODE", help="Language of titles and descriptions (default: the first of the spec).")
@pass_ctx
def calendar_export(c: Ctx, spec: Path, output: Path | None, organisation: str | None, lang: str | None) -> None:
    """Write an iCalendar (.ics) file of every session, with its Zoom join link.

    Times carry the programme's time zone. Join links are read from Zoom
    (nothing is written there) when Zoom is configured; otherwise the file
    has no links.

    \b
    Examples:
      oca-sync calendar export course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync calendar export spec.yaml --org ala-too-youth --lang ru -o ala-too.ics
    """
    from .calendar import export_calendar
    from .zoom.meetings import desired_meetings, join_urls, observe_meetings, read_ledger

    loaded = c.load(spec)
    zoom = _zoom(c)
    links: dict[str, str] = {}
    if zoom is not None:
        desired = desired_meetings(loaded)
        with c.err.status("Reading Zoom meetings …"):
            links = join_urls(observe_meetings(zoom, desired, ledger=read_ledger(c.store(), desired)))
    else:
        c.err.print("[yellow]Zoom is not configured: the calendar has no join links.[/yellow]")
    data = export_calendar(loaded, links, organisation=organisation, lang=lang)
    path = output or Path(f"{loaded.spec.programme.key}{'-' + organisation if organisation else ''}.ics")
    path.write_bytes(data)
    c.out.print(f"Wrote {path}: {data.count(b'BEGIN:VEVENT')} sessions, {len(links)} with a join link.",
                markup=False)


@cli.command()
@spec_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (put a reverse proxy "
                                                                       "with HTTPS in front of it).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@pass_ctx
def serve(c: Ctx, spec: Path, host: str, port: int) -> None:
    """Receive Zoom's webhooks: archive recordings, fill attendance when a meeting ends.

    recording.completed archives that instance's recordings to Drive;
    meeting.ended fills that session's attendance register in Moodle (as
    `oca-sync attendance sync --session KEY --yes` would), when Moodle is
    configured.

    POST /zoom/webhook answers Zoom's URL validation, checks every event's
    x-zm-signature with OCA_ZOOM_WEBHOOK_SECRET (stale or replayed requests
    are refused) and archives recordings of the spec's meetings in the
    background; GET /healthz reports the queue. Zoom needs a public HTTPS URL:
    see docs/webhooks.md.

    \b
    Example:
      export OCA_ZOOM_WEBHOOK_SECRET=...   # plus the Zoom and Drive settings
      oca-sync serve course_spec/oca-kyrgyzstan-2022.yaml --port 8080
    """
    from .cli_archive import drive_client
    from .drive.archive import Archiver
    from .serve import webhook_app
    from .zoom.webhooks import run

    loaded = c.load(spec)
    secret = c.settings.webhook_secret()
    zoom = _zoom(c)
    if zoom is None:
        raise ConfigError("Zoom is not configured: set OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID, OCA_ZOOM_CLIENT_SECRET")
    store = c.store()
    archiver = Archiver(loaded, drive_client(c, loaded), store, zoom=zoom)
    moodle = _moodle(c)[0] if c.settings.get("moodle.url") and c.settings.get("moodle.token") else None
    if moodle is None:
        c.err.print("Moodle is not configured: meeting.ended will not fill attendance registers")
    app = webhook_app(archiver, store, secret.get_secret_value(), moodle=moodle)
    c.err.print(f"Listening on http://{host}:{port}/zoom/webhook (Ctrl-C to stop)")
    # One log format: uvicorn's loggers go through ours (log_config=None), and a server says what it does.
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))
    run(app, host=host, port=port, log_config=None)


# -- moodle site tools ----------------------------------------------------------------


@cli.group()
def moodle() -> None:
    """Check a Moodle site and build the companion plugin."""


@moodle.command()
@pass_ctx
def doctor(c: Ctx) -> None:
    """Check that the configured Moodle site is ready for oca-sync.

    Checks the Moodle version, web services and REST, the functions of the
    token's service, the companion plugin and its version, mod_attendance,
    the multilang filter and role ids; each problem comes with its fix.
    Exits 1 when a check fails.

    \b
    Example:
      export OCA_MOODLE_URL=https://moodle.example.org OCA_MOODLE_TOKEN=...
      oca-sync moodle doctor
    """
    from rich.table import Table

    from .moodle.doctor import diagnose

    client, site = _moodle(c)
    checks = diagnose(client, site.role_ids)
    table = Table(show_header=True, header_style="bold")
    for col in ("check", "status", "detail", "fix"):
        table.add_column(col, overflow="fold")
    style = {"ok": "green", "warn": "yellow", "fail": "red"}
    for ch in checks:
        table.add_row(ch.name, f"[{style[ch.status]}]{ch.status}[/]", ch.detail, ch.fix)
    c.out.print(table)
    if any(ch.status == "fail" for ch in checks):
        raise click.exceptions.Exit(ExitCode.ERROR)


@moodle.group()
def plugin() -> None:
    """The companion plugin local_ocasync."""


@plugin.command("build")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="ZIP file or directory to write it in.")
@pass_ctx
def plugin_build(c: Ctx, output: Path) -> None:
    """Write the installable ZIP of local_ocasync.

    Install it in Site administration > Plugins > Install plugins, then
    issue a token for its "oca-sync" service.

    \b
    Example:
      oca-sync moodle plugin build -o dist/
    """
    from .moodle.plugin_zip import build_zip, plugin_version

    path = build_zip(output)
    version, release = plugin_version()
    c.out.print(f"Wrote {path} (local_ocasync {release or version}).", markup=False)


# -- state maintenance ----------------------------------------------------------------


@cli.command()
@click.argument("name")
@pass_ctx
def unlock(c: Ctx, name: str) -> None:
    """Remove a lock left by an apply that died on another host.

    The lock's name is printed in the error of the apply it blocked.
    A lock left by a dead process on this host is taken over automatically.

    \b
    Example:
      oca-sync unlock 'apply:moodle:https://moodle.example.org:kg2022'
    """
    store = c.store()
    holder = store.lock_holder(name)
    if holder is None:
        raise OcaError(f"no lock named {name!r}")
    store.force_unlock(name)
    c.out.print(f"Removed the lock {name!r} held by {holder.holder}@{holder.host} pid {holder.pid}.", markup=False)


def _register_subcommands() -> None:
    # Command groups kept in their own modules (they use ctx.obj, so `python -m oca_sync.cli` works too).
    from .cli_archive import materials, recordings
    from .cli_attendance import attendance
    from .cli_report import report

    for group in (attendance, materials, recordings, report):
        cli.add_command(group)


_register_subcommands()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that it takes the same way out.

    A KeyboardInterrupt subclass: every ``except KeyboardInterrupt`` and every
    ``finally`` runs as for Ctrl-C (sandboxes stop and delete their files,
    ``serve`` finishes its shutdown, an archive closes its transfers, locks are
    released), and resumable state is left as Ctrl-C leaves it.
    """


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main() -> None:
    # systemd, docker stop and kill send SIGTERM: stop as cleanly as on Ctrl-C, not abruptly.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rv = cli.main(standalone_mode=False)
    except click.ClickException as e:
        e.show()
        sys.exit(ExitCode.USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt) as e:
        # click turns a KeyboardInterrupt (so a Terminated too) into Abort, keeping it as the cause.
        if isinstance(e, Terminated) or isinstance(e.__cause__, Terminated):
            click.echo("Stopped (SIGTERM).", err=True)
            sys.exit(128 + signal.SIGTERM)
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
