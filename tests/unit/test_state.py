import os
import subprocess
import sys

import pytest

from oca_sync.errors import LockedError
from oca_sync.state import StateStore


def test_second_lock_is_refused_with_holder(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    other = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    with store.lock("apply:x", "apply"):
        with pytest.raises(LockedError) as e:
            with other.lock("apply:x", "apply"):
                pass
        assert f"pid {os.getpid()}" in str(e.value)
        assert "oca-sync unlock apply:x" in str(e.value)
    with other.lock("apply:x", "apply"):  # released after the block
        pass


def test_lock_of_dead_process_is_taken_over(tmp_path):
    url = f"sqlite:///{tmp_path}/s.sqlite"
    code = (
        "import os; from oca_sync.state import StateStore\n"
        f"s = StateStore({url!r}); cm = s.lock('apply:y', 'apply'); cm.__enter__(); os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    store = StateStore(url)
    assert store.lock_holder("apply:y") is not None
    with store.lock("apply:y", "apply") as info:
        assert info.pid == os.getpid()


def test_ledger_round_trip_and_forget(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    store.record_applied("sc", {("course", "A"): {"fullname": "X"}, ("group", "g"): {"name": "G"}})
    assert store.applied_state("sc") == {("course", "A"): {"fullname": "X"}, ("group", "g"): {"name": "G"}}
    store.record_applied("sc", {("group", "g"): None})
    assert store.applied_state("sc") == {("course", "A"): {"fullname": "X"}}
    assert store.applied_state("other") == {}


def test_a_new_sqlite_store_is_readable_by_its_owner_only(tmp_path):
    import stat

    path = tmp_path / "sub" / "state.sqlite"
    store = StateStore(f"sqlite:///{path}")
    store.save_upload_session("k", "https://upload.example/?upload_id=CAPABILITY", 10)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.upload_session("k") == ("https://upload.example/?upload_id=CAPABILITY", 10)
    store.forget_upload_session("k")
    store.engine.dispose()  # checkpoint the WAL into the file
    leftovers = b"".join(f.read_bytes() for f in path.parent.iterdir())
    assert b"CAPABILITY" not in leftovers, "a forgotten session URI must not linger in free pages"
