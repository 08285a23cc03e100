"""The core of ``plan`` and ``apply``: observe, plan, confirm, execute, record.

The CLI and the demo call these functions; they never print. What the user
sees comes through the callbacks of :class:`Hooks`.
"""

from __future__ import annotations

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
from .moodle.observe import observe
from .moodle.planner import applied_records, plan_moodle
from .plan import Change, Plan
from .spec import LoadedSpec
from .state import StateStore

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
    plan: Plan
    role_ids: dict[str, int]


@dataclass
class ApplyResult:
    counts: ApplyCounts = field(default_factory=ApplyCounts)
    applied: bool = False  # False when the plan was empty or the user declined
    replans: int = 0
    plan: Plan = field(default_factory=Plan)


def scope(client: MoodleClient, loaded: LoadedSpec) -> str:
    """Ledger and lock scope: one programme on one site."""
    return f"moodle:{client.url}:{loaded.spec.programme.key}"


def prepare(
    client: MoodleClient,
    loaded: LoadedSpec,
    site: SiteOptions,
    store: StateStore | None,
    *,
    prune: bool = False,
    hooks: Hooks | None = None,
) -> Prepared:
    hooks = hooks or Hooks()
    desired = build(loaded, site.languages)
    hooks.status(f"Reading {client.url} …")
    observed = observe(client, desired, progress=lambda what: hooks.status(f"Reading {what} …"))
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
    plan = plan_moodle(desired, observed, role_ids, last_applied=last, prune=prune)
    return Prepared(desired, observed, plan, role_ids)


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
) -> ApplyResult:
    """Apply ``loaded`` to the site under a lock; re-plan after any write whose outcome was lost."""
    hooks = hooks or Hooks()
    sc = scope(client, loaded)
    result = ApplyResult()
    with store.lock(f"apply:{sc}", "apply"):
        prep = prepare(client, loaded, site, store, prune=prune, hooks=hooks)
        result.plan = prep.plan
        hooks.show_plan(prep.plan)
        errors = plan_errors(prep.plan)
        if errors:
            raise OcaError("the plan has conflicts; nothing was written:\n" + "\n".join(f"  {e}" for e in errors))
        ledger = applied_records(prep.desired, prep.observed)
        if prep.plan.empty:
            # The site matches the spec: what we would have written is what is there.
            _replace_ledger(store, sc, ledger)
            return result
        if not hooks.confirm(prep.plan):
            return result
        run_id = store.start_run(sc, "apply")
        status = "failed"
        try:
            while True:
                hooks.progress_start(len(prep.plan.changes))
                try:
                    counts = execute(
                        client, prep.plan, prep.desired, prep.observed, prep.role_ids,
                        progress=hooks.progress,
                        on_stage_done=lambda stage: store.record_applied(
                            sc, {k: v for k, v in ledger.items() if k[0] == stage}),
                    )
                    _add(result.counts, counts)
                    break
                except WriteOutcomeUnknown as e:
                    if result.replans >= MAX_REPLANS:
                        raise
                    result.replans += 1
                    hooks.status(f"{e}")
                    prep = prepare(client, loaded, site, store, prune=prune, hooks=hooks)
                    if prep.plan.empty:
                        break
            _replace_ledger(store, sc, ledger)
            result.applied = True
            status = "ok"
        finally:
            store.finish_run(run_id, status, {
                "created": result.counts.created, "updated": result.counts.updated,
                "deleted": result.counts.deleted, "calls": client.stats.total, "writes": client.stats.writes,
            })
    return result


def _replace_ledger(store: StateStore, sc: str, ledger: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Record ``ledger`` and forget entries of objects that are no longer in the spec."""
    stale: dict[tuple[str, str], dict[str, Any] | None] = {k: None for k in store.applied_state(sc) if k not in ledger}
    store.record_applied(sc, {**ledger, **stale})


def _add(total: ApplyCounts, more: ApplyCounts) -> None:
    total.created += more.created
    total.updated += more.updated
    total.deleted += more.deleted
