"""Integration tests talk real HTTP to the emulators, which each test starts itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oca_sync.config import SiteOptions
from oca_sync.moodle.client import MoodleClient
from oca_sync.sandbox.moodle import MoodleSandbox
from oca_sync.spec import LoadedSpec, load_spec
from oca_sync.state import StateStore

ROOT = Path(__file__).resolve().parents[2]
OCA_SPEC = ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml"
LANGS = ("en", "ru", "ky")


@pytest.fixture
def moodle() -> Iterator[MoodleSandbox]:
    """A site without the companion plugin: core web services only."""
    with MoodleSandbox(langs=LANGS, multilang_filter=True, filterall=True, plugin=False) as sb:
        yield sb


@pytest.fixture
def moodle_plugin() -> Iterator[MoodleSandbox]:
    """A site with local_ocasync and mod_attendance."""
    with MoodleSandbox(langs=LANGS, multilang_filter=True, filterall=True, plugin=True, attendance=True) as sb:
        yield sb


@pytest.fixture
def client(moodle: MoodleSandbox) -> MoodleClient:
    return MoodleClient(moodle.url, moodle.token, timeout=10, backoff=0.01)


@pytest.fixture
def client_plugin(moodle_plugin: MoodleSandbox) -> MoodleClient:
    return MoodleClient(moodle_plugin.url, moodle_plugin.token, timeout=10, backoff=0.01)


@pytest.fixture
def site() -> SiteOptions:
    return SiteOptions(languages=LANGS)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path}/state.sqlite")


@pytest.fixture(scope="session")
def oca() -> LoadedSpec:
    return load_spec(OCA_SPEC)
