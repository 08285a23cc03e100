"""Post a session's short report to its course's announcements forum (Moodle's "news" forum).

Core web services only (public/mod/forum/externallib.php):

* ``core_course_get_courses_by_field`` (idnumber): our course;
* ``mod_forum_get_forums_by_courses``: its forums; the one of type ``news`` is the course's
  announcements forum, made with the course when the format has news and ``newsitems`` > 0
  (mod/forum/classes/observer.php course_created(), forum_get_course_forum());
* ``mod_forum_get_forum_discussions`` (every page): what is posted already;
* ``mod_forum_add_discussion``: the post (HTML; Moodle mails it to the subscribers).

Posted once: a discussion whose subject is the report's subject, or the discussion this
programme recorded for the session in the state store (a subject edited by hand), counts
as posted. The subject carries the session (kind, number, title), unique in a course.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from ..errors import UsageError
from ..moodle.client import MoodleClient
from ..moodle.model import Keys
from ..spec import LoadedSpec
from ..spec.textrules import moodle_name

#: forum_discussions.name and forum_posts.subject hold 255 characters (mod/forum/db/install.xml)
SUBJECT_LIMIT = 255
LEDGER_KIND = "announcement"


@dataclass(frozen=True)
class Announcement:
    """What posting a session report does (or did)."""

    course: str  # shortname
    session: str
    subject: str
    forumid: int
    forum_name: str
    #: the discussion already holding this report, or None (then posting creates one)
    discussion: int | None
    message: str = ""  # HTML

    @property
    def posted(self) -> bool:
        return self.discussion is not None


def subject_of(markdown: str) -> str:
    """The first heading of the Markdown report, fitted to the forum's subject column."""
    first = next((line for line in markdown.splitlines() if line.startswith("# ")), "").removeprefix("# ").strip()
    first = first if len(first) <= SUBJECT_LIMIT - 10 else first[: SUBJECT_LIMIT - 11] + "…"
    # The subject is PARAM_TEXT: Moodle refuses one that its cleaning would change (a title with "<").
    return moodle_name(first, ["en"])


def message_of(markdown: str) -> str:
    """The report as HTML for the post: the Markdown without its heading (the subject says it)."""
    body = "\n".join(line for line in markdown.splitlines() if not line.startswith("# "))
    # html off: names and titles are shown, never run as markup
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(body).strip()


def ledger_scope(client: MoodleClient, loaded: LoadedSpec) -> str:
    return f"announcements:{client.url}:{loaded.spec.programme.key}"


def find(client: MoodleClient, loaded: LoadedSpec, course: str, session: str, markdown: str,
         recorded: int | None = None) -> Announcement:
    """Where the report would go and whether it is there already (reads only).

    ``recorded``: the discussion the state store holds for this session, if any.
    """
    keys = Keys(loaded.spec.programme.key_prefix, loaded.spec.programme.key)
    found = client.call("core_course_get_courses_by_field", {"field": "idnumber", "value": keys.course(course)},
                        raw=True)
    courses = [c for c in found.get("courses", []) if c.get("idnumber") == keys.course(course)]
    if not courses:
        raise UsageError(f"course {course} is not in Moodle (run oca-sync apply first): nothing to post to")
    courseid = int(courses[0]["id"])
    forums = [f for f in client.call("mod_forum_get_forums_by_courses", {"courseids": [courseid]}, raw=True)
              if f.get("type") == "news" and int(f.get("course") or 0) == courseid]
    if not forums:
        raise UsageError(f"course {course} has no announcements forum: Moodle makes one when the course format "
                         "shows announcements and the course's 'Number of announcements' (newsitems) is above 0")
    forum = min(forums, key=lambda f: int(f["id"]))  # forum_get_course_forum(): the oldest one
    subject = subject_of(markdown)
    discussion = None
    listed = client.call("mod_forum_get_forum_discussions", {"forumid": int(forum["id"])}, raw=True)
    for d in listed.get("discussions", []):
        # Read raw (moodlewssettingraw): the subject as stored, which is what we sent.
        if str(d.get("name") or "") == subject or (recorded and int(d["discussion"]) == recorded):
            discussion = int(d["discussion"])
            break
    return Announcement(course, session, subject, int(forum["id"]), html.unescape(str(forum.get("name") or "")),
                        discussion, message_of(markdown))


def post(client: MoodleClient, ann: Announcement) -> Announcement:
    """Add the discussion unless it is there; returns the announcement with its discussion id."""
    if ann.posted:
        return ann
    res: Any = client.call("mod_forum_add_discussion", {
        "forumid": ann.forumid, "subject": ann.subject, "message": ann.message,
        # The author is the token's user: do not subscribe it to every report's replies.
        "options": [{"name": "discussionsubscribe", "value": "0"}],
    })
    return Announcement(ann.course, ann.session, ann.subject, ann.forumid, ann.forum_name,
                        int(res["discussionid"]), ann.message)


def announce(loaded: LoadedSpec, client: MoodleClient, store: Any, course: str, session: str, markdown: str, *,
             dry_run: bool = False) -> tuple[Announcement, bool]:
    """Find the report in the course's announcements forum and post it if it is not there
    (``dry_run``: only find). Returns the announcement and whether this call posted it."""
    scope = ledger_scope(client, loaded)
    key = f"{course}:{session}"
    recorded = store.applied_state(scope).get((LEDGER_KIND, key), {}).get("discussion")
    ann = find(client, loaded, course, session, markdown, int(recorded) if recorded else None)
    if ann.posted or dry_run:
        return ann, False
    done = post(client, ann)
    store.record_applied(scope, {(LEDGER_KIND, key): {"discussion": done.discussion, "subject": done.subject,
                                                      "forum": done.forumid}})
    return done, True
