"""Every command meets bad input with one clear line and its documented exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml"


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCA_")}
    clean.update(HOME=str(tmp_path), **(env or {}))  # no config file of the machine's user
    return subprocess.run([sys.executable, "-m", "oca_sync.cli", *args], capture_output=True, text=True,
                          env=clean, timeout=60, cwd=tmp_path)


ZOOM = {"OCA_ZOOM_ACCOUNT_ID": "acct", "OCA_ZOOM_CLIENT_ID": "client", "OCA_ZOOM_CLIENT_SECRET": "s3cr3t-value"}

CASES = [
    # (arguments, extra environment, exit code, words the one line must hold)
    (["validate", "missing.yaml"], {}, 2, "file not found"),
    (["validate", "."], {}, 2, "directory"),
    (["calendar", "export", str(SPEC), "-o", "no/such/folder/x.ics"], {}, 2, "No such file or directory"),
    (["moodle", "plugin", "build", "-o", "no/such/folder/x.zip"], {}, 2, "No such file or directory"),
    (["plan", str(SPEC)], {}, 2, "OCA_MOODLE_URL"),
    (["apply", str(SPEC), "--yes"], {}, 2, "OCA_MOODLE_URL"),
    (["moodle", "doctor"], {}, 2, "OCA_MOODLE_URL"),
    (["recordings", "archive", str(SPEC)], {}, 2, "not configured"),
    (["materials", "archive", str(SPEC)], {}, 2, "not configured"),
    (["serve", str(SPEC), "--port", "-1"], {}, 2, "--port"),
    (["sandbox", "--moodle-port", "99999"], {}, 2, "--moodle-port"),
    (["--config", "missing.toml", "plan", str(SPEC)], {}, 2, "missing.toml"),
    (["plan", str(SPEC)], {"OCA_MOODLE_URL": "http://127.0.0.1:9", "OCA_MOODLE_TOKEN": "x"}, 1, "127.0.0.1"),
    (["init", ".", "--timezone", "Nowhere/Special"], {}, 2, "--timezone"),
    (["calendar", "export", str(SPEC), "--org", "nobody"], {}, 2, "no organisation"),
    (["attendance", "match", "--roster", "missing.csv", "--participants", "p.csv"], {}, 2, "missing.csv"),
    (["attendance", "sync", str(SPEC)], {}, 2, "OCA_MOODLE_URL"),
    (["attendance", "sync", str(SPEC)], {"OCA_MOODLE_URL": "http://127.0.0.1:9", "OCA_MOODLE_TOKEN": "x"}, 2,
     "OCA_ZOOM_ACCOUNT_ID"),
    (["attendance", "review", str(SPEC), "--resolve", "nope.csv"], {}, 2, "nope.csv"),
]


@pytest.mark.parametrize(("args", "env", "code", "words"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_input_gives_one_clear_line(tmp_path: Path, args: list[str], env: dict[str, str], code: int,
                                        words: str) -> None:
    result = run(tmp_path, *args, env=env)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert words in result.stderr, result.stderr


def test_state_as_a_plain_file_path_is_accepted(tmp_path: Path) -> None:
    result = run(tmp_path, "--state", "state.sqlite", "unlock", "nothing-held")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1 and "no lock named" in result.stderr, result.stderr
    assert (tmp_path / "state.sqlite").is_file()


def test_state_url_password_is_never_shown(tmp_path: Path) -> None:
    result = run(tmp_path, "--state", "postgresql://oca:hunter2-secret@127.0.0.1:9/oca", "unlock", "x")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "***" in result.stderr


def test_wrong_token_says_how_to_fix_it(tmp_path: Path) -> None:
    from oca_sync.sandbox.moodle import MoodleSandbox

    with MoodleSandbox(langs=("en", "ru"), plugin=False) as sb:
        env = {"OCA_MOODLE_URL": sb.url, "OCA_MOODLE_TOKEN": "not-the-token"}
        result = run(tmp_path, "plan", str(SPEC), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "invalidtoken" in result.stderr and "OCA_MOODLE_TOKEN" in result.stderr and "doctor" in result.stderr


def test_doctor_on_an_unreachable_host_does_not_blame_moodle_settings(tmp_path: Path) -> None:
    result = run(tmp_path, "moodle", "doctor",
                 env={"OCA_MOODLE_URL": "http://127.0.0.1:9", "OCA_MOODLE_TOKEN": "x", "COLUMNS": "250"})
    assert result.returncode == 1
    out = " ".join((result.stdout + result.stderr).split())
    assert "Enable web services" not in out and "site is up" in out
