import re
from pathlib import Path

import oca_sync
from oca_sync.moodle.functions import ATTENDANCE_FUNCTIONS, CORE_FUNCTIONS, PLUGIN_FUNCTIONS


def test_function_list_matches_the_calls_in_the_code():
    root = Path(oca_sync.__file__).parent
    called = set()
    for path in list((root / "moodle").glob("*.py")) + list((root / "report").glob("*.py")) + [root / "sync.py"]:
        # client.call("fn", ...), and apply's batch helpers, which take the client first: _call(client, "fn", ...)
        called |= set(re.findall(
            r"""(?:call(?:_batched)?\(|\(\s*client\s*,)\s*["']((?:core|enrol|mod|local)_[a-z_]+)["']""",
            path.read_text()))
    assert called, "no calls found: the pattern is stale"
    assert {f for f in called if not f.startswith("local_")} == set(CORE_FUNCTIONS) | set(ATTENDANCE_FUNCTIONS)
    assert {f for f in called if f.startswith("local_")} <= set(PLUGIN_FUNCTIONS)
