"""Which Moodle activities a campaign check-in survey becomes (pure).

A ``checkin`` survey is one Feedback activity per organisation that runs a campaign and
takes part in the course, restricted to that organisation's group: its members report
their figures every week (several submissions allowed), and every response of the
activity belongs to that organisation, whoever submits it and even when it is anonymous.
A course that no campaigning organisation takes part in gets one activity for everyone,
as a survey of another kind does (responses then count for the respondent's organisation).
"""

from __future__ import annotations

from .models import Course, CourseSpec, MultiText, Organisation, Survey


def checkin_organisations(spec: CourseSpec, course: Course) -> list[Organisation]:
    """Organisations with a campaign that are groups of ``course`` (as checks.group_courses), in the spec's order."""
    return [o for o in spec.organisations
            if o.campaign is not None and (o.courses is None or course.shortname in o.courses)]


def survey_activities(spec: CourseSpec, course: Course, survey: Survey) -> list[Organisation | None]:
    """One entry per activity the survey becomes: an organisation (its group's check-in), or None (for everyone)."""
    if survey.kind != "checkin":
        return [None]
    return list(checkin_organisations(spec, course)) or [None]


def activity_title(title: MultiText, org_name: MultiText, languages: list[str]) -> MultiText:
    """The survey's title followed by the organisation's name, language by language."""
    if isinstance(title, str) and isinstance(org_name, str):
        return f"{title}: {org_name}"

    def pick(t: MultiText, lang: str) -> str:
        if isinstance(t, str):
            return t
        return t.get(lang) or next((t[x] for x in languages if t.get(x)), next(iter(t.values()), ""))

    langs = [lang for lang in languages
             if (isinstance(title, dict) and lang in title) or (isinstance(org_name, dict) and lang in org_name)]
    return {lang: f"{pick(title, lang)}: {pick(org_name, lang)}" for lang in langs}
