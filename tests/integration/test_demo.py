"""The README's first quick-start command: the whole job on the sandbox."""

import subprocess
import sys

from .conftest import ROOT


def test_demo_runs_end_to_end():
    r = subprocess.run([sys.executable, "-m", "oca_sync.cli", "demo"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "Apply complete: 163 added" in out
    assert "No changes. Moodle writes in this pass: 0" in out
    assert "25 sessions have a Zoom join link in Moodle" in out
    assert "0 failed" in out and "recordings: 120 archived" in out
    assert "25 sessions:" in out and "0 held for review" in out and "re-run: 0 to write" in out
