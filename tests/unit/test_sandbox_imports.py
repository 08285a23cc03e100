"""The sandbox's Moodle function modules import their base, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "oca_sync" / "sandbox"


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module:
                out.add(node.module.rsplit(".", 1)[-1])
            out |= {a.name for a in node.names}
    return out


def test_base_modules_import_no_function_module() -> None:
    for base in ("moodle_functions.py", "moodle_params.py", "moodle_state.py"):
        fn_modules = {m for m in imported(SANDBOX / base) if m.startswith("moodle_fn_")}
        assert not fn_modules, f"{base} imports {fn_modules}: the function modules build on it, not the reverse"


def test_every_function_module_is_registered() -> None:
    from oca_sync.sandbox.moodle import MoodleSandbox

    with MoodleSandbox(plugin=True, attendance=True) as sb:
        names = set(sb.registry)
    for name in ("core_course_create_courses", "core_user_create_users", "core_calendar_create_calendar_events",
                 "core_courseformat_update_course", "local_ocasync_upsert_modules", "mod_attendance_get_session",
                 "mod_feedback_get_items"):
        assert name in names
