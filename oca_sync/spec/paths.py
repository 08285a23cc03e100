"""Confinement of the files a spec names (materials, rosters, report texts).

A spec is a file an administrator may have received from someone else, and
what it names is published: materials become Moodle course resources and go to
the shared Drive. So every path it names must stay inside one folder, the
*files root* (the spec's own folder unless the administrator names another
with ``--files-root``): relative, resolved with symlinks followed, and a
regular file (a FIFO would block the reader, a device never ends). Messages
name the path the spec wrote, never anything read from the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["PathRefused", "confine"]


class PathRefused(ValueError):
    """A path the spec names that may not be read; the message says why, for the spec's author."""


def confine(base_dir: Path, name: str, root: Path | None = None) -> Path:
    """The real path of file ``name`` (relative to ``base_dir``), checked to be a regular file inside ``root``.

    ``root`` defaults to ``base_dir``. Raises :class:`PathRefused` otherwise.
    """
    if not name or not name.strip():
        raise PathRefused("the path is empty")
    if "\0" in name:
        raise PathRefused("the path contains a NUL character")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise PathRefused(f"{name!r} is an absolute path; give a path relative to the spec file")
    top = (root if root is not None else base_dir).resolve()
    try:
        # Confinement first, existence second: a "not found" must say nothing about files outside.
        real = (base_dir / name).resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop on older Pythons
        raise PathRefused(f"cannot follow {name!r}: {getattr(e, 'strerror', None) or e}") from None
    if not real.is_relative_to(top):
        where = "the spec's folder" if root is None else f"the files root {top}"
        raise PathRefused(
            f"{name!r} leads outside {where} ({top}); only files inside it are published "
            "(see --files-root to allow another folder)"
        )
    if not real.exists():
        raise PathRefused(f"file {name!r} not found (relative to {base_dir})")
    try:
        mode = os.stat(real).st_mode
    except OSError as e:
        raise PathRefused(f"cannot read {name!r}: {e.strerror}") from None
    if stat.S_ISDIR(mode):
        raise PathRefused(f"{name!r} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise PathRefused(f"{name!r} is not a regular file (a device, pipe or socket)")
    if not os.access(real, os.R_OK):
        raise PathRefused(f"{name!r} is not readable")
    return real
