"""``oca-sync recordings …`` and ``oca-sync materials …``: parse, call :mod:`oca_sync.drive.archive`, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import ConfigError, ExitCode, OcaError

if TYPE_CHECKING:
    from .cli import Ctx
    from .spec import LoadedSpec

#: ctx.obj is the Ctx made by the top-level group (by object, not by class: `python -m oca_sync.cli`
#: loads cli.py twice, as __main__ and as oca_sync.cli)
pass_ctx = click.pass_obj


def drive_client(c: Ctx, loaded: LoadedSpec) -> Any:
    """The Drive client the settings describe (a service account, a user, or the sandbox)."""
    import json as _json

    from .drive.client import DriveClient

    ds = c.settings.drive()
    shared = ds.shared_drive_id or loaded.spec.drive.shared_drive_id
    if ds.credentials is None:
        assert ds.api_url and ds.token
        return DriveClient.for_sandbox(ds.api_url, ds.token.get_secret_value(), shared_drive_id=shared)
    kind = _json.loads(Path(ds.credentials).read_text(encoding="utf-8")).get("type")
    if kind == "service_account":
        return DriveClient.from_service_account_file(ds.credentials, subject=ds.subject, root_url=ds.api_url,
                                                     shared_drive_id=shared)
    if kind == "authorized_user":
        return DriveClient.from_authorized_user_file(ds.credentials, root_url=ds.api_url, shared_drive_id=shared)
    raise OcaError(f"OCA_DRIVE_CREDENTIALS: {ds.credentials} is neither a service account key nor an authorised "
                   "user file")


class ArchiveProgress:
    """Bars for files and bytes on a terminal; nothing when output is not a terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import DownloadColumn, ProgressColumn, TransferSpeedColumn
        from rich.text import Text

        class Counted(ProgressColumn):
            """Files as "3/10 files", bytes as "1.2/4.0 GB" with a speed: each bar in its own unit."""

            def __init__(self) -> None:
                super().__init__()
                self.size, self.speed = DownloadColumn(), TransferSpeedColumn()

            def render(self, task: Any) -> Any:
                if task.fields.get("unit") == "files":
                    return Text(f"{int(task.completed)}/{int(task.total or 0)} files", style="progress.download")
                return Text.assemble(self.size.render(task), " ", self.speed.render(task))

        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), Counted(), TimeElapsedColumn(),
                             console=console, transient=True, disable=not console.is_terminal)
        self.files_task: Any = None
        self.bytes_task: Any = None
        self.base = 0

    def files(self, total: int) -> None:
        self.bars.start()
        self.files_task = self.bars.add_task("files", total=total, unit="files")

    def file_started(self, name: str, size: int) -> None:
        if self.bytes_task is not None:
            self.bars.remove_task(self.bytes_task)
        self.bytes_task = self.bars.add_task(name[:40], total=size)

    def bytes_at(self, position: int) -> None:
        if self.bytes_task is not None:
            self.bars.update(self.bytes_task, completed=position)

    def file_done(self, row: Any) -> None:
        if self.files_task is not None:
            self.bars.advance(self.files_task)

    def stop(self) -> None:
        self.bars.stop()


def _archive_table(c: Ctx, report: Any, title: str) -> None:
    from rich.table import Table

    # A link folded over two lines cannot be clicked or copied: on a terminal the cell is a hyperlink,
    # elsewhere the links follow the table, each whole on its own line.
    hyperlinks = c.out.is_terminal
    table = Table(title=title, show_header=True, header_style="bold")
    for col in ("session", "file", "status", "size", "Drive link / detail"):
        table.add_column(col, overflow="fold")
    style = {"archived": "green", "skipped": "dim", "failed": "red"}
    for n, r in enumerate(report.rows, start=1):
        if r.link:
            cell = f"[link={escape(r.link)}]open in Drive[/link]" if hyperlinks else f"link [{n}] below"
        else:
            cell = escape(r.detail)
        table.add_row(escape(r.session), escape(r.name), f"[{style[r.status]}]{r.status}[/]", f"{r.size:,}", cell)
    c.out.print(table)
    if not hyperlinks:
        for n, r in enumerate(report.rows, start=1):
            if r.link:
                c.out.print(f"[{n}] {r.link}", markup=False, soft_wrap=True)
    c.out.print(f"{report.count('archived')} archived, {report.count('skipped')} skipped, "
                f"{report.count('failed')} failed; {report.bytes_sent:,} bytes uploaded.")
    if report.count("failed"):
        raise click.exceptions.Exit(ExitCode.ERROR)


@click.group()
def recordings() -> None:
    """Zoom cloud recordings."""


@recordings.command("archive")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--types", metavar="LIST", help="Zoom file types to keep, e.g. MP4,M4A,TRANSCRIPT,CHAT "
                                               "(default: the spec's drive.file_types).")
@click.option("--trash-in-zoom-after-verify", "trash", is_flag=True,
              help="Move each recording to Zoom's trash once its Drive copy is verified (never before; off by "
                   "default; never a permanent deletion).")
@pass_ctx
def recordings_archive(c: Ctx, spec: Path, types: str | None, trash: bool) -> None:
    """Copy the cloud recordings of every past session to Drive, verified.

    Files go to <root>/<Training|Mentoring|Events>/<NN date title>/, so the
    recordings of training and of mentoring stay apart; the root is shared
    with the spec's drive.share_with. A file counts as archived only when
    Drive's size and MD5 match what Zoom sent. Runs again upload nothing
    already archived, and resume interrupted uploads. Exit 1 if any file failed.

    \b
    Examples:
      oca-sync recordings archive course_spec/oca-kyrgyzstan-2022.yaml
      oca-sync recordings archive spec.yaml --types MP4 --trash-in-zoom-after-verify
    """
    from .cli import _zoom
    from .drive.archive import Archiver

    loaded = c.load(spec)
    zoom = _zoom(c)
    if zoom is None:
        raise ConfigError("Zoom is not configured: set OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID, OCA_ZOOM_CLIENT_SECRET")
    progress = ArchiveProgress(c.err)
    archiver = Archiver(loaded, drive_client(c, loaded), c.store(), zoom=zoom, trash_in_zoom=trash, progress=progress,
                        file_types=[t.strip().upper() for t in types.split(",")] if types else None)
    try:
        with c.err.status("Listing recordings in Zoom …"):
            targets = archiver.recording_targets()
        report = archiver.archive_recordings(targets)
        shared = archiver.share()
    finally:
        progress.stop()
    if shared:
        c.err.print(f"Shared the archive with {', '.join(shared)}.")
    _archive_table(c, report, "Recordings")


@click.group()
def materials() -> None:
    """The spec's learning materials."""


@materials.command("archive")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def materials_archive(c: Ctx, spec: Path) -> None:
    """Copy the spec's material files to Drive in their original format.

    Files go to <root>/Materials/<NN date title>/; a file whose content has
    not changed is not uploaded again (by SHA-256), a changed one replaces
    its older copy.

    \b
    Example:
      oca-sync materials archive course_spec/oca-kyrgyzstan-2022.yaml
    """
    from .drive.archive import Archiver

    loaded = c.load(spec)
    progress = ArchiveProgress(c.err)
    archiver = Archiver(loaded, drive_client(c, loaded), c.store(), progress=progress)
    try:
        report = archiver.archive_materials()
        archiver.share()
    finally:
        progress.stop()
    _archive_table(c, report, "Materials")
