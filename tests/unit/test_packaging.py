import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_installed():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "oca_sync").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert cfg["package-dir"]["oca_sync.course_spec"] == "course_spec"


def test_every_folder_with_files_is_a_listed_package():
    # A folder of package data that is not listed makes setuptools warn "Package would be ignored".
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])

    def folders(top: Path, name: str) -> set[str]:
        return {
            ".".join((name, *d.relative_to(top).parts))
            for d in [top, *top.rglob("*")]
            if d.is_dir() and d.name != "__pycache__" and any(f.is_file() for f in d.iterdir())
        }

    found = folders(ROOT / "oca_sync", "oca_sync") | folders(ROOT / "course_spec", "oca_sync.course_spec")
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_demo_spec_and_plugin_are_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.yaml" in data["oca_sync.course_spec"] and "rosters/*" in data["oca_sync.course_spec"]
    assert any("local_ocasync" in g for g in data["oca_sync.moodle"])
