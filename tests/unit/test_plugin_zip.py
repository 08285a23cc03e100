import subprocess
import sys
import zipfile

from oca_sync.moodle.plugin_zip import build_zip, plugin_dir, plugin_version


def test_zip_has_one_root_folder_with_version_php(tmp_path):
    path = build_zip(tmp_path)
    version, release = plugin_version()
    assert path.name == f"local_ocasync-{version}.zip"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert {n.split("/")[0] for n in names} == {"ocasync"}
        assert "ocasync/version.php" in names and "ocasync/db/services.php" in names
        assert not any("__pycache__" in n for n in names)
        assert b"local_ocasync" in zf.read("ocasync/version.php")
    sources = [p for p in plugin_dir().rglob("*") if p.is_file()]
    assert len(names) == len(sources)
    assert version >= 2026112600 and release


def test_cli_writes_the_zip(tmp_path):
    out = tmp_path / "p.zip"
    r = subprocess.run([sys.executable, "-m", "oca_sync.cli", "moodle", "plugin", "build", "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert zipfile.is_zipfile(out) and str(out) in r.stdout
