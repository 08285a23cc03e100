"""The README's first quick-start command: the whole job on the sandbox."""

import subprocess
import sys

from .conftest import ROOT


def test_demo_runs_end_to_end(tmp_path):
    r = subprocess.run([sys.executable, "-m", "oca_sync.cli", "demo", "--report-dir", str(tmp_path / "report")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    # 164 objects, the course's completion settings, and a check-in per organisation (6 instead of 1)
    assert "Apply complete: 170 added" in out
    assert "+ moodle.module[OCA-KG-2022:campaign-checkin@naryn-media-lab]" in out
    assert "71 campaign check-ins (each organisation in its own check-in activity)" in out
    assert "No changes. Moodle writes in this pass: 0" in out
    assert "25 sessions have a Zoom join link in Moodle" in out
    assert "0 failed" in out and "recordings: 120 archived" in out
    assert "25 sessions:" in out and "0 held for review" in out and "re-run: 0 to write" in out
    # every register taken: only then does the attendance activity become a course completion criterion
    assert ("apply again, the registers filled: Plan: 0 to add, 1 to change, 0 to delete. (the "
            "attendance activity is now a course completion criterion of OCA-KG-2022)") in out
    assert f"The report is at {tmp_path / 'report' / 'report.html'}" in out
    assert "posted to OCA-KG-2022's 'Announcements' forum (discussion 1;" in out
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 4 and "Recommendations" in html
    assert "<b>120</b>recordings archived" in html  # the archive step's files, found in the ledger
    recordings = (tmp_path / "report" / "recordings.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(recordings) == 1 + 120 and recordings[1].startswith("OCA-KG-2022,")
    assert html.count("community-canvas.md</a>") == 1  # a material, linked from the materials index
    assert (tmp_path / "report").stat().st_mode & 0o777 == 0o700
