"""Write the report: ``report.html`` (self-contained), CSV files beside it, short event reports.

Reads only the spec and a collected data set (:mod:`.dataset`); charts come from
:mod:`.charts`, figures from :mod:`.analysis`, the page from the Jinja templates in
``templates/``. The output folder is created owner-only: the report holds personal data.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from .. import csvout
from ..errors import SpecError, SpecIssue, UsageError
from ..spec import LoadedSpec
from ..spec.models import METRICS
from ..spec.multilang import plain
from . import analysis as a
from . import charts
from .dataset import Dataset
from .strings import STRINGS

LANGS = tuple(STRINGS)
#: Campaigns with a line chart each; beyond, one organisation x week chart holds them all.
MAX_LINE_CHARTS = 12
def csv_cell(value: Any) -> Any:
    """A cell as written: text a spreadsheet would run as a formula gets a leading ' (see :mod:`oca_sync.csvout`)."""
    return csvout.neutralise(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A report CSV: owner-only, every cell formula-safe (the one CSV writer of oca-sync)."""
    buf = io.StringIO()
    w = csvout.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    _write(path, buf.getvalue(), csvout.ENCODING)  # with a BOM: Excel shows Cyrillic right


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding=encoding) as f:
        f.write(text)


def output_dir(path: Path) -> Path:
    """Create the folder owner-only (0700); an existing folder is used as it is."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--output {path} is a file, not a folder")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@dataclass
class Built:
    folder: Path
    files: list[str]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("oca_sync.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    env.filters["num"] = lambda v: "–" if v is None else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")
    env.filters["signed"] = lambda v: "–" if v is None else f"{v:+.2f}"
    env.filters["size"] = _size
    env.filters["file_label"] = file_label
    return env


def file_label(f: Any) -> str:
    """'2022-01-19 Digital campaign strategy (part 2) - Video.mp4' -> 'Video (part 2)': the session is on the row."""
    head, _, tail = str(f.name).rpartition(" - ")
    label = tail.rsplit(".", 1)[0] if tail else str(f.name)
    part = re.search(r"\((part \d+)\)\s*$", head)
    return f"{label} ({part.group(1)})" if part else label


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


def recommendations(loaded: LoadedSpec) -> Markup | None:
    name = loaded.spec.report.recommendations
    if not name:
        return None
    path = loaded.file(name)  # confined to the spec's folder (or --files-root), checked again now
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([SpecIssue(str(path), None, None, "", f"cannot read the recommendations: {e}")]) from None
    # html off: what the team writes is shown, never run as markup
    return Markup(MarkdownIt("commonmark", {"html": False}).render(text))


def build(loaded: LoadedSpec, data: Dataset, output: Path, *, lang: str = "en", anonymise: bool = False) -> Built:
    if lang not in LANGS:
        raise UsageError(f"--lang {lang}: the report is written in {', '.join(LANGS)}")
    t = STRINGS[lang]
    everyone = a.people(loaded, lang, anonymise)
    att = a.sessions_and_attendance(loaded, data, everyone, lang)
    comp = a.completion(loaded, att, data, everyone, lang)
    surveys = a.surveys(loaded, data, everyone, lang)
    camps = a.campaigns(loaded, data, everyone, lang)
    folder = output_dir(output)
    ctx = _context(loaded, data, t, lang, anonymise, everyone, att, comp, surveys, camps)
    html = _env().get_template("report.html.j2").render(**ctx)
    _write(folder / "report.html", html)
    files = ["report.html"]
    files += _csvs(loaded, data, folder, lang, anonymise, everyone, att, comp)
    return Built(folder, files)


def _context(loaded: LoadedSpec, data: Dataset, t: dict[str, str], lang: str, anonymise: bool,
             everyone: dict[str, a.Person], att: a.Attendance, comp: list[a.CompletionRow],
             surveys: list[a.SurveyResults], camps: a.Campaigns) -> dict[str, Any]:
    langs = loaded.spec.programme.languages
    spec = loaded.spec
    kind_names = {k: t[f"kind_{k}"] for k in ("training", "mentoring", "event")}
    metric_names = {m: t[f"metric_{m}"] for m in METRICS}
    held = [s for s in att.sessions if s.taken]
    label = [f"{s.key}" for s in att.sessions if s.expected]
    chart_att = charts.attendance_per_session(
        label, [s.kind for s in att.sessions if s.expected], [s.rate for s in att.sessions if s.expected],
        t["chart_attendance"], kind_names) if label else ""
    heat_cols = [s for s in att.sessions if s.expected]
    heat = charts.heatmap(
        [name for _k, name in att.orgs], [s.key for s in heat_cols],
        [[att.heat.get((s.course, s.key, org)) for s in heat_cols] for org, _n in att.orgs],
        t["chart_heatmap"]) if heat_cols and att.orgs and held else ""
    # One chart per question for the whole programme (several courses: their answers together,
    # per-course figures in tables), so that the chart count does not grow with the courses.
    combined = a.combine(surveys, t["all_courses"]) if len(surveys) > 1 else None
    charted = [combined] if combined else surveys
    survey_charts: dict[tuple[str, str], str] = {}
    for sr in charted:
        for q in sr.questions:
            if q.type in ("rating", "multichoice", "multichoice_multi") and q.labels:
                survey_charts[(sr.course, q.key)] = charts.distribution(
                    q.labels, [q.pre[""][v] for v in q.labels], [q.post[""][v] for v in q.labels], q.text,
                    t["before"], t["after"], f"q-{sr.course}-{q.key}", q.answered.get("pre", 0),
                    q.answered.get("post", 0))
    # Campaigns: one overview chart; a line chart per campaign while there are few, else one
    # organisation x week chart of the reach target (the same series, rows instead of lines).
    targeted = [m for m in METRICS if any(m in c.targets for c in camps.results)]
    camp_overview = charts.campaign_overview(
        [c.org_name for c in camps.results], targeted, [[c.progress(m) for m in targeted] for c in camps.results],
        metric_names, t["chart_campaigns"], t["pct_of_target"]) if camps.results and targeted else ""
    camp_charts: dict[str, str] = {}
    camp_weeks = ""
    if len(camps.results) <= MAX_LINE_CHARTS:
        for c in camps.results:
            camp_charts[c.org] = charts.campaign_progress(c.weekly, c.targets, metric_names, c.title, f"c-{c.org}",
                                                          (c.campaign.start, c.campaign.end), t["pct_of_target"])
    else:
        metric = next((m for m in ("reach", *METRICS) if m in targeted), None)
        if metric:
            weeks = sorted({w for c in camps.results for w, _v in c.weekly.get(metric, [])})
            rows = []
            for c in camps.results:
                series = dict(c.weekly.get(metric, []))
                running: float | None = None
                row: list[float | None] = []
                for w in weeks:
                    running = series.get(w, running)
                    target = c.targets.get(metric)
                    row.append(running / target if running is not None and target else None)
                rows.append(row)
            camp_weeks = charts.campaign_weeks([c.org_name for c in camps.results], weeks, rows,
                                               t["chart_campaign_weeks"].replace("{metric}", metric_names[metric]),
                                               t["pct_of_target"])
    rates = [s.rate for s in held if s.rate is not None]
    members = [p for p in everyone.values() if p.org and p.role == "member"]
    files, recorded = a.split_archive(loaded, data)
    spec_materials = []
    for course in spec.courses:
        for s in loaded.sessions.get(course.shortname, ()):
            for item in s.content:
                if item.type in ("file", "url"):
                    archived = files.get((course.shortname, s.key, item.key), [])
                    spec_materials.append({
                        "session": s.key, "title": plain(item.title, lang, langs), "type": item.type,
                        "url": getattr(item, "url", ""), "archived": archived})
    glance = {
        "courses": len(spec.courses), "organisations": len(spec.organisations), "members": len(members),
        "sessions_planned": len(att.sessions), "sessions_held": len(held),
        "attendance": sum(rates) / len(rates) if rates else None,
        "completed": a.completion_summary(comp).completed, "completion_total": len(comp),
        "pre": sum(s.respondents["pre"] for s in surveys), "post": sum(s.respondents["post"] for s in surveys),
        "reach": sum(c.totals.get("reach", 0) for c in camps.results),
        "recordings": len(recorded), "materials": sum(len(v) for v in files.values()),
    }
    starts = [c.start for c in spec.courses]
    ends = [c.end for c in spec.courses]
    return {
        "t": t, "lang": lang, "anonymise": anonymise,
        "title": plain(spec.report.title, lang, langs) if spec.report.title else plain(spec.programme.name, lang, langs),
        "programme": spec.programme, "tz": loaded.tz.key, "period": (min(starts), max(ends)),
        "collected_at": data.collected_at, "built_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "glance": glance, "att": att, "kinds": ("training", "mentoring", "event"), "kind_names": kind_names,
        "chart_att": Markup(chart_att), "chart_heat": Markup(heat),
        "completion": comp, "comp_sum": a.completion_summary(comp), "rules": [(c.shortname, c.completion) for c in spec.courses if c.completion],
        "surveys": surveys, "combined": combined, "survey_charts": {k: Markup(v) for k, v in survey_charts.items()},
        "orgs": att.orgs, "camps": camps, "camp_charts": {k: Markup(v) for k, v in camp_charts.items()},
        "camp_overview": Markup(camp_overview), "camp_weeks": Markup(camp_weeks),
        "metrics": METRICS, "metric_names": metric_names, "materials": spec_materials,
        "recommendations": recommendations(loaded), "sources": data.sources, "notes": data.notes,
        "min_pairs": a.MIN_TEST_PAIRS,
    }


def _csvs(loaded: LoadedSpec, data: Dataset, folder: Path, lang: str, anonymise: bool,
          everyone: dict[str, a.Person], att: a.Attendance, comp: list[a.CompletionRow]) -> list[str]:
    langs = list(loaded.spec.programme.languages)
    sessions = {(s.course, s.key): s for s in att.sessions}

    seen: dict[str, tuple[str, str, str]] = {}  # a person is on many rows: their cells once

    def who(key: str | None) -> tuple[str, str, str]:
        k = key or ""
        if k not in seen:
            p = everyone.get(k)
            seen[k] = ("", "", "") if p is None else (
                a.pseudonym(loaded.spec.programme.key, p.key) if anonymise else p.key, p.name, p.org)
        return seen[k]

    when = {k: (s.kind, s.start.date().isoformat()) for k, s in sessions.items()}
    write_csv(folder / "attendance.csv",
              ["course", "session", "kind", "date", "person", "name", "organisation", "status", "attended",
               "minutes"],
              ([r.course, r.session, *when.get((r.course, r.session), ("", "")),
                *who(r.person), r.status, int(a.attended(r)), "" if r.minutes is None else r.minutes]
               for r in sorted(data.attendance, key=lambda r: (r.course, r.session, r.person))))
    rules = list(dict.fromkeys(part for row in comp for part, _m, _d in row.parts))  # the spec's order
    # complete: by the spec's rules on the collected data; moodle: Moodle's record ("" when not collected)
    write_csv(folder / "completion.csv", ["course", "person", "name", "organisation", *rules, "complete", "moodle"],
              ([row.course, *who(row.person.key), *[_rule_cell(row, r) for r in rules], int(row.complete),
                "" if row.moodle is None else int(row.moodle)]
               for row in comp))
    # surveys.csv: one row per response; codes as Moodle stores them, explained in the codebook
    survey_defs = [(c, s) for c in loaded.spec.courses for s in c.surveys]
    qkeys: list[str] = []
    for _c, s in survey_defs:
        qkeys += [q.key for q in s.questions if q.type != "info" and q.key not in qkeys]
    kinds = {(c.shortname, s.key): s.kind for c, s in survey_defs}
    write_csv(folder / "surveys.csv", ["course", "survey", "kind", "respondent", "organisation", "submitted", *qkeys],
              ([r.course, r.survey, kinds.get((r.course, r.survey), ""),
                who(r.person)[0] or f"anonymous-{r.response_id}", r.group or who(r.person)[2],
                dt.datetime.fromtimestamp(r.submitted, dt.timezone.utc).isoformat() if r.submitted else "",
                *[r.answers.get(k) if r.answers.get(k) is not None else "" for k in qkeys]]
               for r in sorted(data.responses, key=lambda r: (r.course, r.survey, r.submitted, r.response_id))))
    code_rows = []
    for c, s in survey_defs:
        for q in s.questions:
            if q.type == "info":
                continue
            labels = [[plain(o, lg, langs) for o in q.options] for lg in langs]
            if q.type == "rating" and not q.options:
                low, high = q.min if q.min is not None else 1, q.max if q.max is not None else 5
                scale = "; ".join(f"{i}={v}" for i, v in enumerate(range(low, high + 1), start=1))
            elif q.options:
                scale = " | ".join("; ".join(f"{i}={o}" for i, o in enumerate(ls, start=1)) for ls in labels)
            elif q.type == "numeric":
                scale = f"{q.min if q.min is not None else ''}..{q.max if q.max is not None else ''}"
            else:
                scale = "free text"
            multi = " (several codes joined by |)" if q.type == "multichoice_multi" else ""
            code_rows.append([c.shortname, s.key, s.kind, q.key, q.type + multi, scale,
                              *[plain(q.text, lg, langs) for lg in langs]])
    write_csv(folder / "surveys-codebook.csv",
              ["course", "survey", "kind", "question", "type", "codes", *[f"text_{lg}" for lg in langs]], code_rows)
    camps = a.campaigns(loaded, data, everyone, lang)
    write_csv(folder / "campaigns.csv", ["date", "organisation", "platform", "metric", "value", "source"],
              ([m.date, m.organisation, m.platform, m.metric, m.value, m.source]
               for c in camps.results for m in c.rows))
    write_csv(folder / "recordings.csv", ["course", "session", "kind", "date", "name", "link", "size", "md5"],
              _recording_rows(loaded, data))
    return ["attendance.csv", "completion.csv", "surveys.csv", "surveys-codebook.csv", "campaigns.csv",
            "recordings.csv"]


def _rule_cell(row: a.CompletionRow, rule: str) -> str:
    for name, met, detail in row.parts:
        if name == rule:
            return detail or ("yes" if met else "no")
    return ""


def _recording_rows(loaded: LoadedSpec, data: Dataset) -> list[list[Any]]:
    sessions = {(c.shortname, s.key): s for c in loaded.spec.courses for s in loaded.sessions.get(c.shortname, ())}
    rows = []
    _files, recorded = a.split_archive(loaded, data)
    for f, (course, key) in sorted(recorded, key=lambda x: (x[1], x[0].name)):
        s = sessions.get((course, key))
        rows.append([course, key, s.kind if s else "", s.start.astimezone(loaded.tz).date().isoformat() if s else "",
                     f.name, f.link, f.size, f.md5])
    return rows


# --------------------------------------------------------------------------- the short event report


def session_report(loaded: LoadedSpec, data: Dataset, key: str, output: Path, *, lang: str = "en",
                   anonymise: bool = False) -> Built:
    if lang not in LANGS:
        raise UsageError(f"--lang {lang}: the report is written in {', '.join(LANGS)}")
    if a.session_of(loaded, key) is None:
        known = ", ".join(s.key for c in loaded.spec.courses for s in loaded.sessions.get(c.shortname, ()))
        raise UsageError(f"no session {key!r} in the spec (sessions: {known})")
    t = STRINGS[lang]
    everyone = a.people(loaded, lang, anonymise)
    att = a.sessions_and_attendance(loaded, data, everyone, lang)
    row = next(s for s in att.sessions if s.key == key)
    present = {r.person for r in data.attendance if r.session == key and r.course == row.course and a.attended(r)}
    by_org = []
    for org_key, name in att.orgs:
        members = [p for p in everyone.values() if p.org == org_key and p.role == "member"]
        by_org.append((name, sum(1 for p in members if p.key in present), len(members)))
    ctx = {"t": t, "lang": lang, "s": row, "tz": loaded.tz.key, "by_org": by_org,
           "kind_name": t[f"kind_{row.kind}"], "collected_at": data.collected_at,
           "programme": plain(loaded.spec.programme.name, lang, loaded.spec.programme.languages)}
    folder = output_dir(output)
    env = _env()
    _write(folder / f"session-{key}.html", env.get_template("session.html.j2").render(**ctx))
    md = jinja2.Environment(loader=jinja2.PackageLoader("oca_sync.report", "templates"), autoescape=False,
                            trim_blocks=True, lstrip_blocks=True)
    md.filters.update(env.filters)
    _write(folder / f"session-{key}.md", md.get_template("session.md.j2").render(**ctx))
    return Built(folder, [f"session-{key}.html", f"session-{key}.md"])
