"""Build the installable ZIP of the companion plugin local_ocasync.

Moodle's plugin installer (Site administration > Plugins > Install plugins)
expects one root folder named after the plugin (``ocasync/``) that holds
``version.php``; the plugin type comes from the installer's choice or from
``$plugin->component`` in version.php.
"""

from __future__ import annotations

import re
import zipfile
from importlib import resources
from pathlib import Path

from ..errors import OcaError

ROOT_IN_ZIP = "ocasync"
_SKIP = {"__pycache__", ".DS_Store"}


def plugin_dir() -> Path:
    return Path(str(resources.files("oca_sync.moodle").joinpath("plugin", "local_ocasync")))


def plugin_version(source: Path | None = None) -> tuple[int, str]:
    """``$plugin->version`` and ``$plugin->release`` read from version.php."""
    path = (source or plugin_dir()) / "version.php"
    if not path.is_file():
        raise OcaError(f"the plugin sources are missing at {path.parent}")
    text = path.read_text(encoding="utf-8")
    version = re.search(r"\$plugin->version\s*=\s*(\d+)", text)
    release = re.search(r"\$plugin->release\s*=\s*'([^']*)'", text)
    if not version:
        raise OcaError("version.php of local_ocasync has no $plugin->version")
    return int(version.group(1)), release.group(1) if release else ""


def build_zip(dest: Path, source: Path | None = None) -> Path:
    """Write the ZIP; ``dest`` is a file name or a directory (then named local_ocasync-<version>.zip)."""
    src = source or plugin_dir()
    if not (src / "version.php").is_file():
        raise OcaError(f"the plugin sources are missing at {src}")
    version, _release = plugin_version(src)
    if dest.is_dir():
        dest = dest / f"local_ocasync-{version}.zip"
    files = sorted(p for p in src.rglob("*") if p.is_file() and not (_SKIP & set(p.relative_to(src).parts)))
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, f"{ROOT_IN_ZIP}/{p.relative_to(src).as_posix()}")
    return dest
