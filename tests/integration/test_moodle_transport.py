"""The Moodle client against broken answers: cut off, garbled, HTML, rate limited (issue 13, items 5 and 7)."""

from __future__ import annotations

import pytest

from oca_sync import sync
from oca_sync.errors import MoodleTransportError, OcaError, WriteOutcomeUnknown
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.sandbox.moodle import MoodleSandbox

HTML = "<!DOCTYPE html><html><body>Bad gateway, please retry</body></html>"
CREATE_CATEGORY = {"categories": [{"name": "Transport", "idnumber": "oca:transport"}]}


def categories(client: MoodleClient) -> list[dict]:
    return client.call("core_course_get_categories", {"criteria": [{"key": "idnumber", "value": "oca:transport"}]})


@pytest.mark.parametrize("fault", [
    {"kind": "truncate"},
    {"kind": "status", "status": 200, "body": HTML, "content_type": "text/html"},
    {"kind": "status", "status": 200, "body": '[{"id": 1, "name": "Categ', "content_type": "application/json"},
    {"kind": "status", "status": 429, "body": "Too Many Requests"},
], ids=["truncated", "html", "garbled", "429"])
def test_reads_are_retried_after_a_broken_answer(moodle: MoodleSandbox, client: MoodleClient, fault: dict) -> None:
    moodle.faults.add("core_course_get_categories", count=2, **fault)
    assert categories(client) == []
    assert client.stats.retries == 2 and client.stats.calls["core_course_get_categories"] == 3


def test_a_write_refused_with_429_is_sent_again_once(moodle: MoodleSandbox, client: MoodleClient) -> None:
    moodle.faults.add("core_course_create_categories", "status", count=2, status=429, body="slow down")
    client.call("core_course_create_categories", CREATE_CATEGORY)
    assert len(categories(client)) == 1 and moodle.calls.count("core_course_create_categories") == 1


@pytest.mark.parametrize("fault", [
    {"kind": "truncate"},
    {"kind": "status", "status": 200, "body": HTML, "content_type": "text/html"},
], ids=["truncated", "html"])
def test_a_broken_answer_to_a_write_is_outcome_unknown(moodle: MoodleSandbox, client: MoodleClient,
                                                       fault: dict) -> None:
    moodle.faults.add("core_course_create_categories", count=1, **fault)
    with pytest.raises(WriteOutcomeUnknown) as e:
        client.call("core_course_create_categories", CREATE_CATEGORY)
    assert e.value.function == "core_course_create_categories"
    assert moodle.calls.count("core_course_create_categories") == (1 if fault["kind"] == "truncate" else 0)


def test_endless_429_says_rate_limit_not_wrong_url(moodle: MoodleSandbox, client: MoodleClient) -> None:
    moodle.faults.add("core_course_get_categories", "status", count=0, status=429, body="Too Many Requests")
    with pytest.raises(MoodleTransportError) as e:
        categories(client)
    text = str(e.value)
    assert "429" in text and "Too Many Requests" in text and "root URL" not in text
    assert client.stats.calls["core_course_get_categories"] == client.max_attempts


def test_endless_html_still_hints_at_the_url(moodle: MoodleSandbox, client: MoodleClient) -> None:
    moodle.faults.add("core_course_get_categories", "status", count=0, status=200, body=HTML,
                      content_type="text/html")
    with pytest.raises(MoodleTransportError, match="not JSON .* REST protocol"):
        categories(client)


def test_404_hints_at_the_root_url(moodle: MoodleSandbox) -> None:
    client = MoodleClient(moodle.url + "/moodle", moodle.token, timeout=10, backoff=0.01)
    with pytest.raises(MoodleTransportError, match="HTTP 404 .*root URL"):
        categories(client)


# -- apply: counts add up across re-plans (item 7) ----------------------------------------


def test_counts_add_up_across_a_replan(moodle, client, site, store, oca) -> None:
    planned = sync.prepare(client, oca, site, store).plan
    creates = sum(1 for c in planned.changes if c.action is Action.CREATE)
    updates = sum(1 for c in planned.changes if c.action is Action.UPDATE)
    moodle.faults.add("core_user_create_users", "truncate")  # the users are made, the answer is cut off
    result = sync.apply(client, oca, site, store)
    assert result.replans == 1
    assert moodle.calls.count("core_user_create_users") == 1
    assert (result.counts.created, result.counts.updated) == (creates, updates)
    assert sync.prepare(client, oca, site, store).plan.empty


def test_counts_add_up_when_the_lost_write_did_not_happen(moodle, client, site, store, oca) -> None:
    planned = sync.prepare(client, oca, site, store).plan
    creates = sum(1 for c in planned.changes if c.action is Action.CREATE)
    moodle.faults.add("core_group_create_groups", "status", status=502, body="Bad gateway")
    result = sync.apply(client, oca, site, store)
    assert result.replans == 1 and result.counts.created == creates


def test_after_the_last_replan_the_message_does_not_say_retrying(moodle, client, site, store, oca) -> None:
    moodle.faults.add("core_group_create_groups", "status", count=0, status=503, body="")
    messages: list[str] = []
    with pytest.raises(OcaError) as e:
        sync.apply(client, oca, site, store, hooks=sync.Hooks(status=messages.append))
    text = str(e.value)
    assert "stopped" in text and "run apply again" in text
    assert "retrying" not in text and "re-reading" not in text and "planning again" not in text
    replans = [m for m in messages if "planning again" in m]
    assert len(replans) == sync.MAX_REPLANS and replans[-1].endswith(f"re-plan {sync.MAX_REPLANS} of at most "
                                                                      f"{sync.MAX_REPLANS})")
