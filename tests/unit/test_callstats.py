"""The clients' call counters: one shared base (thread-safe counting), each client's own figures."""

from oca_sync.drive.client import DriveStats
from oca_sync.moodle.client import CallStats as MoodleStats
from oca_sync.zoom.client import CallStats as ZoomStats


def test_each_client_keeps_its_own_figures():
    m = MoodleStats()
    m.count("core_user_get_users_by_field")
    m.count("core_user_create_users")
    m.retried()
    assert (m.total, m.writes, m.retries) == (2, 1, 1)
    z = ZoomStats()
    z.token_requested()
    assert z.token_requests == 1 and z.total == 0
    d = DriveStats()
    d.sent(10)
    d.confirmed(4)
    assert d.bytes_resent == 6
