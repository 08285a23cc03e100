import os

import pytest

from oca_sync.moodle.client import MoodleClient


@pytest.fixture
def live_moodle() -> MoodleClient:
    url, token = os.environ.get("OCA_MOODLE_URL"), os.environ.get("OCA_MOODLE_TOKEN")
    if not url or not token:
        pytest.skip("set OCA_MOODLE_URL and OCA_MOODLE_TOKEN to run the live tests against a real Moodle")
    return MoodleClient(url, token, timeout=60)
