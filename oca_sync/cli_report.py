"""``oca-sync report …``: parse, call :mod:`oca_sync.report`, render. No logic here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import UsageError

if TYPE_CHECKING:
    from .cli import Ctx

F = TypeVar("F", bound=Callable[..., Any])

#: ctx.obj is the Ctx made by the top-level group (by object, not by class: `python -m oca_sync.cli`
#: loads cli.py twice, as __main__ and as oca_sync.cli)
pass_ctx = click.pass_obj


@click.group()
def report() -> None:
    """Outcomes back from Moodle and the archive; the final report and event reports."""


def _lang_option(f: F) -> F:
    return click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
                        help="Language of the report.")(f)


def _anonymise_option(f: F) -> F:
    return click.option("--anonymise", is_flag=True,
                        help="Replace participants' names by stable pseudonyms and drop e-mail addresses.")(f)


@report.command("collect")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def report_collect(c: Ctx, spec: Path) -> None:
    """Read attendance, survey responses, the archive ledger and campaign metrics into the state store.

    Reads only: calls per course and activity, not per person. Run it again
    to refresh; `report build` then works offline.

    \b
    Example:
      oca-sync report collect course_spec/oca-kyrgyzstan-2022.yaml
    """
    from .cli import _moodle
    from .report import dataset
    from .report.collect import collect

    loaded = c.load(spec)
    client, _site = _moodle(c)
    store = c.store()
    data = collect(loaded, client, store, progress=lambda msg: c.err.print(f"[dim]{msg}[/dim]"))
    dataset.save(store, data)
    _print_collected(c, data)


def _print_collected(c: Ctx, data: Any) -> None:
    c.out.print(f"Collected: {len(data.attendance)} attendance records in {len(data.taken)} sessions, "
                f"{len(data.responses)} survey responses, {len(data.archive)} archived files, "
                f"{len(data.metrics)} campaign numbers from files.", markup=False)
    for note in data.notes:
        c.out.print(f"  note: {note}", markup=False)


@report.command("build")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.html and the CSV files (created owner-only).")
@_lang_option
@_anonymise_option
@pass_ctx
def report_build(c: Ctx, spec: Path, output: Path, lang: str, anonymise: bool) -> None:
    """Render report.html and the CSV files from the collected data (no network).

    \b
    Example:
      oca-sync report build course_spec/oca-kyrgyzstan-2022.yaml --output report/
      oca-sync report build course_spec/oca-kyrgyzstan-2022.yaml -o for-unesco/ --lang ru --anonymise
    """
    from .report import dataset
    from .report.render import build

    loaded = c.load(spec)
    data = dataset.load(c.store(), loaded.spec.programme.key)
    built = build(loaded, data, output, lang=lang, anonymise=anonymise)
    c.out.print(f"Report: {built.folder / 'report.html'} (data collected {data.collected_at})", markup=False)
    c.out.print(f"  beside it: {', '.join(built.files[1:])}", markup=False)


@report.command("session")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("session_key")
@click.option("-o", "--output", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for session-KEY.html and session-KEY.md.")
@_lang_option
@_anonymise_option
@click.option("--post", "post_it", is_flag=True,
              help="Also post the report to the course's announcements forum in Moodle (once: a report "
                   "posted before is found and not posted again).")
@click.option("--dry-run", is_flag=True, help="With --post: show where it would go, post nothing.")
@pass_ctx
def report_session(c: Ctx, spec: Path, session_key: str, output: Path, lang: str, anonymise: bool,
                   post_it: bool, dry_run: bool) -> None:
    """The short report of one session (date, host, attendance, recording and materials) as HTML and Markdown.

    Uses the collected data: run `report collect` first for fresh figures.
    With --post it also goes to the course's announcements forum, which
    Moodle mails to the course's participants (--dry-run first to see).

    \b
    Example:
      oca-sync report collect course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync report session course_spec/oca-kyrgyzstan-2022.yaml training-03 -o reports/
      oca-sync report session course_spec/oca-kyrgyzstan-2022.yaml training-03 --post --dry-run
    """
    from .cli import _moodle
    from .report import announce, dataset
    from .report.analysis import session_of
    from .report.render import session_report

    if dry_run and not post_it:
        raise UsageError("--dry-run goes with --post (the files are written either way)")
    loaded = c.load(spec)
    store = c.store()
    data = dataset.load(store, loaded.spec.programme.key)
    built = session_report(loaded, data, session_key, output, lang=lang, anonymise=anonymise)
    for name in built.files:
        c.out.print(str(built.folder / name), markup=False)
    if not post_it:
        return
    found = session_of(loaded, session_key)
    assert found is not None  # session_report checked the key
    markdown = (built.folder / f"session-{session_key}.md").read_text(encoding="utf-8")
    client, _site = _moodle(c)
    ann, posted = announce.announce(loaded, client, store, found[0].shortname, session_key, markdown,
                                    dry_run=dry_run)
    where = f"{found[0].shortname} forum {ann.forum_name!r}"
    if ann.discussion is not None:
        link = f"{client.url}/mod/forum/discuss.php?d={ann.discussion}"
        c.out.print(f"{'Posted' if posted else 'Already posted'} to {where}: {ann.subject!r} ({link})", markup=False)
    else:
        c.out.print(f"+ announcement in {where}: {ann.subject!r}", markup=False)
        c.out.print("Dry run: nothing posted (run without --dry-run to post).", markup=False)
