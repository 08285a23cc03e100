"""apply sends independent write batches a few at a time (OCA_MOODLE_CONCURRENCY): the same result, no
duplicates, and a lost answer under way still ends in a re-plan that converges."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from oca_sync import sync
from oca_sync.errors import MoodleError
from oca_sync.moodle import apply as moodle_apply
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.sandbox.moodle import MoodleSandbox


class CountingClient(MoodleClient):
    """Records the most requests it had under way at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.threads: set[str] = set()

    def call(self, function: str, params: Any = None, *, raw: bool = False) -> Any:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.threads.add(threading.current_thread().name)
        try:
            return super().call(function, params, raw=raw)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches small enough that the OCA programme makes several per stage."""
    for kind in ("user", "enrol", "members", "event"):
        monkeypatch.setitem(moodle_apply.BATCH, kind, 7)


def _client(sb: MoodleSandbox, concurrency: int) -> CountingClient:
    return CountingClient(sb.url, sb.token, timeout=10, backoff=0.01, concurrency=concurrency)


def _people(sb: MoodleSandbox) -> Counter[str]:
    return Counter(str(u["idnumber"]) for u in sb.state.users.values() if str(u["idnumber"]).startswith("oca:"))


def test_concurrent_batches_give_the_same_site_as_one_at_a_time(small_batches, site, store, tmp_path, oca):
    from oca_sync.state import StateStore

    results = {}
    for concurrency in (1, 4):
        with MoodleSandbox(langs=("en", "ru", "ky"), plugin=True, attendance=True) as sb:
            client = _client(sb, concurrency)
            planned = sync.prepare(client, oca, site, None).plan
            result = sync.apply(client, oca, site, StateStore(f"sqlite:///{tmp_path}/s{concurrency}.sqlite"))
            assert result.applied and result.replans == 0
            creates = sum(1 for c in planned.changes if c.action is Action.CREATE)
            assert result.counts.created == creates
            assert sync.prepare(client, oca, site, None).plan.empty
            writes = sb.calls.write_count()
            people = _people(sb)
            assert people and max(people.values()) == 1, "nobody twice"
            results[concurrency] = (client.most, len(client.threads), writes, people,
                                    Counter(n for n in sb.calls.names()))
    (most1, threads1, writes1, people1, calls1), (most4, threads4, writes4, people4, calls4) = results[1], results[4]
    assert most1 == 1 and threads1 == 1
    assert 1 < most4 <= 4 and threads4 > 1
    assert writes4 == writes1 and people4 == people1
    assert {f: n for f, n in calls4.items()} == {f: n for f, n in calls1.items()}


@pytest.mark.parametrize("function, fault", [
    ("core_user_create_users", {"kind": "truncate"}),  # made, answer lost
    ("enrol_manual_enrol_users", {"kind": "status", "status": 502, "body": "Bad gateway"}),  # never made
    ("core_group_add_group_members", {"kind": "drop_after"}),  # made, no answer
])
def test_a_lost_answer_among_concurrent_batches_replans_and_converges(small_batches, site, store, oca, function,
                                                                       fault):
    with MoodleSandbox(langs=("en", "ru", "ky"), plugin=True, attendance=True) as sb:
        client = _client(sb, 4)
        planned = sync.prepare(client, oca, site, None).plan
        creates = sum(1 for c in planned.changes if c.action is Action.CREATE)
        sb.faults.add(function, **fault)
        result = sync.apply(client, oca, site, store)
        assert result.applied and result.replans == 1
        assert result.counts.created == creates
        assert sync.prepare(client, oca, site, None).plan.empty
        people = _people(sb)
        assert max(people.values()) == 1, "nobody twice"
        writes = sb.calls.write_count()
        assert sync.apply(client, oca, site, store).plan.empty
        assert sb.calls.write_count() == writes


def test_an_error_stops_batches_not_yet_sent(monkeypatch, site, store, oca):
    monkeypatch.setitem(moodle_apply.BATCH, "user", 4)
    with MoodleSandbox(langs=("en", "ru", "ky"), plugin=True, attendance=True) as sb:
        client = _client(sb, 2)
        batches = -(-len(sync.prepare(client, oca, site, None).desired.users) // 4)
        refusal = '{"exception":"moodle_exception","errorcode":"refused","message":"Refused by the test"}'
        sb.faults.add("core_user_create_users", "status", count=0, status=200, body=refusal)
        with pytest.raises(MoodleError):
            sync.apply(client, oca, site, store)
        sent = client.stats.calls["core_user_create_users"]
        # The two under way when the first refusal came, perhaps one more each taken up meanwhile; not the rest,
        # and no later stage.
        assert batches >= 6 and 1 <= sent <= 4 < batches
        assert client.stats.calls["enrol_manual_enrol_users"] == 0


def _enrolment_order(sb: MoodleSandbox) -> dict[str, list[str]]:
    """Per course, the usernames in the order they were enrolled (ids depend on the order of creation)."""
    order: dict[str, list[str]] = {}
    for name, params in sb.calls.snapshot():
        if name == "enrol_manual_enrol_users":
            items = params["enrolments"]  # PHP's array: {"0": {...}, "1": ...}
            for e in (items.values() if isinstance(items, dict) else items):
                course = sb.state.courses[int(e["courseid"])]["shortname"]
                order.setdefault(course, []).append(sb.state.users[int(e["userid"])]["username"])
    return order


def test_each_courses_enrolments_keep_their_order(small_batches, site, tmp_path, oca):
    """Moodle's welcome message depends on the course's teachers enrolled before (enrol_plugin::
    get_welcome_message_contact): under concurrency each course's enrolments still go in the plan's order."""
    from oca_sync.state import StateStore

    orders = {}
    for concurrency in (1, 4):
        with MoodleSandbox(langs=("en", "ru", "ky"), plugin=True, attendance=True) as sb:
            client = _client(sb, concurrency)
            sync.apply(client, oca, site, StateStore(f"sqlite:///{tmp_path}/e{concurrency}.sqlite"))
            orders[concurrency] = _enrolment_order(sb)
            calls = sb.calls.count("enrol_manual_enrol_users")
            assert calls >= 2
    assert orders[4] == orders[1] and sum(len(v) for v in orders[1].values()) > 7
