"""Where the demo finds the OCA Kyrgyzstan programme."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import UsageError

DEMO_SPEC = "oca-kyrgyzstan-2022.yaml"


def default_spec() -> Path:
    """The spec in ./course_spec when run from a checkout, else the copy installed with the package."""
    local = Path("course_spec") / DEMO_SPEC
    if local.is_file():
        return local
    packaged = resources.files("oca_sync").joinpath("course_spec", DEMO_SPEC)
    if packaged.is_file():
        return Path(str(packaged))
    raise UsageError(f"cannot find {DEMO_SPEC}; pass the spec to use: oca-sync demo PATH")
