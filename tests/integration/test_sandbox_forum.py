"""The emulated mod_forum functions (announcements) answer as Moodle 5.1's mod/forum/externallib.php."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.sandbox import MoodleSandbox

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture()
def client() -> Iterator[MoodleClient]:
    with MoodleSandbox(token=TOKEN) as server:
        yield MoodleClient(server.url, server.token, timeout=10, backoff=0.01)


def new_course(client: MoodleClient, shortname: str, **fields: object) -> int:
    return int(client.call("core_course_create_courses", {"courses": [
        {"fullname": shortname, "shortname": shortname, "categoryid": 1, **fields}]})[0]["id"])


def test_a_course_gets_its_announcements_forum_when_it_shows_news(client: MoodleClient) -> None:
    with_news = new_course(client, "A")
    without = new_course(client, "B", newsitems=0)
    single = new_course(client, "C", format="singleactivity")
    forums = client.call("mod_forum_get_forums_by_courses", {"courseids": [with_news, without, single, 9999]})
    assert [(f["course"], f["type"], f["name"], f["numdiscussions"]) for f in forums] == [
        (with_news, "news", "Announcements", 0)]
    # Turning announcements on later makes it then (mod_forum's course_updated observer).
    client.call("core_course_update_courses", {"courses": [{"id": without, "newsitems": 3}]})
    assert [f["course"] for f in client.call("mod_forum_get_forums_by_courses", {"courseids": [without]})] == [
        without]


def test_discussions_are_added_and_listed_last_post_first(client: MoodleClient) -> None:
    courseid = new_course(client, "A")
    [forum] = client.call("mod_forum_get_forums_by_courses", {"courseids": [courseid]})
    ids = [client.call("mod_forum_add_discussion", {"forumid": forum["id"], "subject": f"Report {i}",
                                                    "message": f"<p>Session {i}</p>"})["discussionid"]
           for i in (1, 2)]
    listed = client.call("mod_forum_get_forum_discussions", {"forumid": forum["id"]}, raw=True)["discussions"]
    assert [(d["discussion"], d["name"], d["message"]) for d in listed] == [
        (ids[1], "Report 2", "<p>Session 2</p>"), (ids[0], "Report 1", "<p>Session 1</p>")]
    oldest_first = client.call("mod_forum_get_forum_discussions", {"forumid": forum["id"], "sortorder": 4})
    assert [d["discussion"] for d in oldest_first["discussions"]] == ids


@pytest.mark.parametrize("params, code", [
    ({"forumid": 9999, "subject": "s", "message": "m"}, "invalidrecordunknown"),  # MUST_EXIST
    ({"subject": "a <b>bold</b> subject", "message": "m"}, "invalidparameter"),  # PARAM_TEXT would change it
    ({"subject": "s", "message": "m", "options": [{"name": "mailnow", "value": "1"}]}, "errorinvalidparam"),
])
def test_add_discussion_errors(client: MoodleClient, params: dict[str, object], code: str) -> None:
    courseid = new_course(client, "A")
    [forum] = client.call("mod_forum_get_forums_by_courses", {"courseids": [courseid]})
    with pytest.raises(MoodleError) as info:
        client.call("mod_forum_add_discussion", {"forumid": forum["id"], **params})
    assert info.value.errorcode == code
    assert client.call("mod_forum_get_forum_discussions", {"forumid": forum["id"]})["discussions"] == []


def test_listing_an_unknown_forum_or_sort_order(client: MoodleClient) -> None:
    with pytest.raises(MoodleError) as info:
        client.call("mod_forum_get_forum_discussions", {"forumid": 9999})
    assert info.value.remote_message == "error/Unable to find forum with id 9999"
    courseid = new_course(client, "A")
    [forum] = client.call("mod_forum_get_forums_by_courses", {"courseids": [courseid]})
    with pytest.raises(MoodleError) as info:
        client.call("mod_forum_get_forum_discussions", {"forumid": forum["id"], "sortorder": 9})
    assert info.value.errorcode == "invalidparameter"
