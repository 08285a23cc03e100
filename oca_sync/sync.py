"""The core of ``plan`` and ``apply``: observe, plan, confirm, execute, record.

The CLI and the demo call these functions; they never print. What the user
sees comes through the callbacks of :class:`Hooks`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import SiteOptions
from .errors import OcaError, UsageError, WriteOutcomeUnknown
from .moodle import model as m
from .moodle.apply import ApplyCounts, execute
from .moodle.client import MoodleClient
from .moodle.desired import build, unknown_roles
from .moodle.completion import wait_for_registers
from .moodle.observe import observe, site_info
from .moodle.planner import applied_records, plan_moodle
from .plan import Action, Change, Notice, Plan
from .spec import LoadedSpec, check_for_site
from .spec.limits import NEWEST, MoodleLimits
from .spec.limits import for_version as limits_for_version
from .state import StateStore
from .zoom.client import ZoomClient
from .zoom.meetings import (
    DesiredMeetings,
    Meeting,
    ZoomResult,
    apply_zoom,
    desired_meetings,
    join_urls,
    observe_meetings,
    past_session_warnings,
    plan_zoom,
    read_ledger,
    record_ledger,
)

log = logging.getLogger("oca_sync")

#: How many times apply re-observes and re-plans after a write whose outcome was lost.
MAX_REPLANS = 5


@dataclass
class Hooks:
    """How the core reports to whoever runs it (CLI, demo, tests)."""

    status: Callable[[str], None] = lambda _msg: None
    show_plan: Callable[[Plan], None] = lambda _plan: None
    confirm: Callable[[Plan], bool] = lambda _plan: True
    progress_start: Callable[[int], None] = lambda _total: None
    progress: Callable[[Change], None] = lambda _change: None


@dataclass
class Prepared:
    desired: m.DesiredSite
    observed: m.ObservedSite
    plan: Plan  # Zoom and Moodle changes
    role_ids: dict[str, int]
    zoom: ZoomPrepared | None = None
    links: dict[str, str] = field(default_factory=dict)  # session key -> Zoom join link
    #: the site's installed languages: reported by the plugin, else the setting (OCA_MOODLE_LANGUAGES)
    languages: tuple[str, ...] = ("en",)
    #: the field sizes of the site's Moodle version
    limits: MoodleLimits = NEWEST


@dataclass
class ApplyResult:
    counts: ApplyCounts = field(default_factory=ApplyCounts)
    applied: bool = False  # False when the plan was empty or the user declined
    replans: int = 0
    plan: Plan = field(default_factory=Plan)


def scope(client: MoodleClient, loaded: LoadedSpec) -> str:
    """Ledger and lock scope: one programme on one site."""
    return f"moodle:{client.url}:{loaded.spec.programme.key}"


#: Shown in a plan where a Zoom join link will exist only once the meeting is created.
PENDING_LINK = "https://zoom.invalid/known-after-apply"


@dataclass
class ZoomPrepared:
    desired: DesiredMeetings
    observed: dict[str, list[Meeting]]
    plan: Plan


def prepare(
    client: MoodleClient,
    loaded: LoadedSpec,
    site: SiteOptions,
    store: StateStore | None,
    *,
    prune: bool = False,
    hooks: Hooks | None = None,
    zoom: ZoomClient | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Prepared:
    """Observe the systems and plan; no write. ``now`` is the clock sessions are held by (default: UTC now)."""
    hooks = hooks or Hooks()
    zp = _prepare_zoom(zoom, loaded, store, prune, hooks)
    links: dict[str, str] = {}
    if zp:
        zp.plan.notices += past_session_warnings(zp.plan, loaded, now() if now else dt.datetime.now(dt.UTC))
        links = join_urls(zp.observed)
        links.update({c.payload.meeting.key: PENDING_LINK for c in zp.plan.changes if c.action is Action.CREATE})
    hooks.status(f"Reading {client.url} …")
    info = site_info(client)
    # The site's Moodle version decides how long names may be; refuse a misfit before any write.
    moodle_limits = limits_for_version(info.get("version"))
    check_for_site(loaded, moodle_limits)
    clock = now() if now else dt.datetime.now(dt.UTC)  # completion criteria wait for the last attendance session
    desired = build(loaded, site.languages, links, moodle_limits, now=clock)
    observed = observe(client, desired, progress=lambda what: hooks.status(f"Reading {what} …"), info=info,
                       now=clock)
    languages = observed.languages or site.languages
    if languages != site.languages:
        # What is read depends only on keys, not on languages: building again is enough.
        desired = build(loaded, languages, links, moodle_limits, now=clock)
    desired = wait_for_registers(desired, observed)
    last = store.applied_state(scope(client, loaded)) if store else {}
    # With the plugin, role ids come from the site itself; else from the settings.
    role_ids = observed.role_ids if observed.role_ids is not None else site.role_ids
    missing = unknown_roles(desired, role_ids)
    if missing and observed.role_ids is not None:
        raise UsageError(f"the site has no role with shortname {', '.join(missing)} (see moodle.roles in the spec)")
    if missing:
        raise UsageError(
            f"the spec uses Moodle roles with no known id: {', '.join(missing)}. Set their ids, e.g. "
            f"OCA_MOODLE_ROLE_IDS={','.join(f'{r}=ID' for r in missing)} (see Site administration > Users > "
            "Define roles), or install the companion plugin, which reads them from the site")
    plan = Plan()
    if zp:
        plan.extend(zp.plan)
    elif loaded.spec.zoom.enabled and any(s.host for ss in loaded.sessions.values() for s in ss):
        # A warning, not an info line: the spec asks for meetings and none will be made or checked.
        plan.notices.append(Notice("warning", "the spec has hosted sessions but Zoom is not configured "
                                              "(OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID, OCA_ZOOM_CLIENT_SECRET): "
                                              "no meeting is created or checked, and sections get no join link"))
    plan.extend(plan_moodle(desired, observed, role_ids, last_applied=last, prune=prune))
    return Prepared(desired, observed, plan, role_ids, zp, links, languages, moodle_limits)


def _prepare_zoom(zoom: ZoomClient | None, loaded: LoadedSpec, store: StateStore | None, prune: bool,
                  hooks: Hooks) -> ZoomPrepared | None:
    if zoom is None or not loaded.spec.zoom.enabled:
        return None
    desired = desired_meetings(loaded)
    hooks.status(f"Reading Zoom meetings of {len(desired.hosts)} host(s) …")
    observed = observe_meetings(zoom, desired, ledger=read_ledger(store, desired))
    return ZoomPrepared(desired, observed, plan_zoom(desired, observed, prune=prune))


def plan_errors(plan: Plan) -> list[str]:
    return [n.message for n in plan.notices if n.level == "error"]


def apply(
    client: MoodleClient,
    loaded: LoadedSpec,
    site: SiteOptions,
    store: StateStore,
    *,
    prune: bool = False,
    hooks: Hooks | None = None,
    zoom: ZoomClient | None = None,
    expect: Callable[[Plan], None] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> ApplyResult:
    """Apply ``loaded`` to Zoom and Moodle under a lock.

    Zoom goes first, so that the join links of new meetings reach Moodle in
    the same run. After any write whose outcome was lost, everything is
    observed and planned again. ``expect`` checks the fresh plan before any
    write (a saved plan's fingerprint) and raises to stop.
    """
    hooks = hooks or Hooks()
    sc = scope(client, loaded)
    result = ApplyResult()
    with store.lock(f"apply:{sc}", "apply"):
        prep = prepare(client, loaded, site, store, prune=prune, hooks=hooks, zoom=zoom, now=now)
        result.plan = prep.plan
        if expect is not None:
            expect(prep.plan)
        hooks.show_plan(prep.plan)
        errors = plan_errors(prep.plan)
        if errors:
            raise OcaError("the plan has conflicts; nothing was written:\n" + "\n".join(f"  {e}" for e in errors))
        if prep.plan.empty:
            # The site matches the spec: what we would have written is what is there.
            _replace_ledger(store, sc, applied_records(prep.desired, prep.observed))
            if prep.zoom:
                record_ledger(store, prep.zoom.desired, prep.zoom.observed)
            return result
        if not hooks.confirm(prep.plan):
            return result
        run_id = store.start_run(sc, "apply")
        status = "failed"
        stopped: ZoomResult | None = None
        done: set[int] = set()  # id() of every change carried out, whichever plan it came from

        def progressed(change: Change) -> None:
            # Counted as each change is done, so that a pass cut short by a lost answer still counts.
            result.counts.count(change)
            done.add(id(change))
            hooks.progress(change)

        try:
            while True:
                hooks.progress_start(len(prep.plan.changes))
                try:
                    if prep.zoom and prep.zoom.plan.changes:
                        assert zoom is not None
                        zr = apply_zoom(zoom, prep.zoom.plan, progress=progressed)
                        # Before Moodle: a meeting made here is found by its id even if a host edits it.
                        record_ledger(store, prep.zoom.desired, prep.zoom.observed, zr.created_ids)
                        stopped = zr if zr.stopped else None
                        if zr.join_urls:
                            # Moodle's plan had placeholders for these links: plan it again with the real ones.
                            links = {**prep.links, **zr.join_urls}
                            links = {k: v for k, v in links.items() if v != PENDING_LINK}
                            desired = wait_for_registers(build(loaded, prep.languages, links, prep.limits,
                                                                     now=now() if now else None), prep.observed)
                            prep = Prepared(desired, prep.observed, plan_moodle(
                                desired, prep.observed, prep.role_ids,
                                last_applied=store.applied_state(sc), prune=prune), prep.role_ids, None, links,
                                prep.languages, prep.limits)
                    ledger = applied_records(prep.desired, prep.observed)

                    def record_stage(stage: str, ledger: dict[tuple[str, str], dict[str, Any]] = ledger) -> None:
                        store.record_applied(sc, {k: v for k, v in ledger.items() if k[0] == stage})

                    execute(client, prep.plan, prep.desired, prep.observed, prep.role_ids,
                            progress=progressed, on_stage_done=record_stage)
                    break
                except WriteOutcomeUnknown as e:
                    if result.replans >= MAX_REPLANS:
                        raise OcaError(
                            f"the outcome of {e.function} is unknown ({e.cause}) and {MAX_REPLANS} re-plans after "
                            "lost answers did not get through; stopped. Everything confirmed so far is recorded: run "
                            "apply again once the site answers reliably (it reads the site first, so nothing is "
                            "made twice)") from None
                    result.replans += 1
                    hooks.status(f"{e}; re-reading the site and planning again (re-plan {result.replans} of "
                                 f"at most {MAX_REPLANS})")
                    pending = [c for c in prep.plan.changes if id(c) not in done]
                    prep = prepare(client, loaded, site, store, prune=prune, hooks=hooks, zoom=zoom, now=now)
                    # A pending change the new plan no longer has was done by a write whose answer was lost.
                    still = {(c.address, c.action) for c in prep.plan.changes}
                    for c in pending:
                        if (c.address, c.action) not in still:
                            result.counts.count(c)
                    if prep.plan.empty:
                        break
            _replace_ledger(store, sc, applied_records(prep.desired, prep.observed))
            result.applied = True
            status = "ok"
        finally:
            store.finish_run(run_id, status, {
                "created": result.counts.created, "updated": result.counts.updated,
                "deleted": result.counts.deleted, "calls": client.stats.total, "writes": client.stats.writes,
            })
    if stopped and stopped.stopped:
        raise OcaError(f"{stopped.stopped}; {stopped.remaining} Zoom change(s) left for the next run "
                       "(everything else was applied)")
    return result


def _replace_ledger(store: StateStore, sc: str, ledger: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Record ``ledger`` and forget entries of objects that are no longer in the spec."""
    stale: dict[tuple[str, str], dict[str, Any] | None] = {k: None for k in store.applied_state(sc) if k not in ledger}
    store.record_applied(sc, {**ledger, **stale})
