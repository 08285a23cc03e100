import pytest

from oca_sync.config import DEFAULT_ROLE_IDS, load_settings
from oca_sync.errors import ConfigError, ExitCode


def test_missing_moodle_settings_name_the_variables(tmp_path):
    s = load_settings(None, environ={"OCA_CONFIG": str(tmp_path / "x.toml")})
    with pytest.raises(ConfigError) as e:
        s.moodle()
    assert "OCA_MOODLE_URL" in str(e.value) and "OCA_MOODLE_TOKEN" in str(e.value)
    assert e.value.exit_code == ExitCode.USAGE


def test_env_overrides_file_and_token_is_secret(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[moodle]\nurl = "https://file.example.org"\ntoken = "filetoken"\n[moodle.role_ids]\nstudent = 9\n')
    s = load_settings(f, environ={"OCA_MOODLE_URL": "https://env.example.org/"})
    m = s.moodle()
    assert m.url == "https://env.example.org"
    assert m.token.get_secret_value() == "filetoken"
    assert "filetoken" not in repr(m) and "filetoken" not in str(m)
    assert m.site.role_ids["student"] == 9 and m.site.role_ids["teacher"] == DEFAULT_ROLE_IDS["teacher"]
    assert m.site.languages == ("en",)


def test_unknown_setting_in_file_is_an_error(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[moodle]\nurll = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting 'moodle.urll'"):
        load_settings(f, environ={})


def test_bad_role_ids(tmp_path):
    s = load_settings(None, environ={"OCA_CONFIG": str(tmp_path / "n.toml"), "OCA_MOODLE_URL": "http://x",
                                     "OCA_MOODLE_TOKEN": "t", "OCA_MOODLE_ROLE_IDS": "student:5"})
    with pytest.raises(ConfigError, match="shortname=id"):
        s.moodle()


def test_url_must_be_http(tmp_path):
    s = load_settings(None, environ={"OCA_CONFIG": str(tmp_path / "n.toml"), "OCA_MOODLE_URL": "moodle.example.org",
                                     "OCA_MOODLE_TOKEN": "t"})
    with pytest.raises(ConfigError, match="http"):
        s.moodle()


def test_site_languages_from_env_or_file_list(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[moodle]\nurl = "https://m.example.org"\ntoken = "t"\nlanguages = ["en", "ru", "ky"]\n')
    assert load_settings(f, environ={}).moodle().site.languages == ("en", "ru", "ky")
    env = {"OCA_MOODLE_LANGUAGES": "en, ru"}
    assert load_settings(f, environ=env).moodle().site.languages == ("en", "ru")
    with pytest.raises(ConfigError, match="language codes"):
        load_settings(f, environ={"OCA_MOODLE_LANGUAGES": "en;ru"}).moodle()


def test_concurrency_defaults_to_4_and_is_checked(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[moodle]\nurl = "https://m.example.org"\ntoken = "t"\nconcurrency = 2\n')
    assert load_settings(f, environ={}).moodle().concurrency == 2
    assert load_settings(f, environ={"OCA_MOODLE_CONCURRENCY": "1"}).moodle().concurrency == 1
    g = tmp_path / "d.toml"
    g.write_text('[moodle]\nurl = "https://m.example.org"\ntoken = "t"\n')
    assert load_settings(g, environ={}).moodle().concurrency == 4
    for bad in ("0", "17", "four", "-1", "2.5"):
        with pytest.raises(ConfigError) as e:
            load_settings(g, environ={"OCA_MOODLE_CONCURRENCY": bad}).moodle()
        assert "OCA_MOODLE_CONCURRENCY" in str(e.value) and "1 to 16" in str(e.value) and bad in str(e.value)


def test_zoom_is_optional_but_not_half_configured(tmp_path):
    base = {"OCA_CONFIG": str(tmp_path / "n.toml")}
    assert load_settings(None, environ=base).zoom() is None
    with pytest.raises(ConfigError, match="OCA_ZOOM_CLIENT_SECRET"):
        load_settings(None, environ={**base, "OCA_ZOOM_ACCOUNT_ID": "a", "OCA_ZOOM_CLIENT_ID": "b"}).zoom()
    z = load_settings(None, environ={**base, "OCA_ZOOM_ACCOUNT_ID": "a", "OCA_ZOOM_CLIENT_ID": "b",
                                     "OCA_ZOOM_CLIENT_SECRET": "s3cr3t"}).zoom()
    assert z is not None and z.api_url == "https://api.zoom.us/v2" and "s3cr3t" not in repr(z)


def test_drive_needs_credentials_or_a_sandbox(tmp_path):
    base = {"OCA_CONFIG": str(tmp_path / "n.toml")}
    with pytest.raises(ConfigError, match="OCA_DRIVE_CREDENTIALS"):
        load_settings(None, environ=base).drive()
    with pytest.raises(ConfigError, match="no file"):
        load_settings(None, environ={**base, "OCA_DRIVE_CREDENTIALS": str(tmp_path / "missing.json")}).drive()
    key = tmp_path / "key.json"
    key.write_text("{}")
    d = load_settings(None, environ={**base, "OCA_DRIVE_CREDENTIALS": str(key), "OCA_DRIVE_SUBJECT": "a@b.org"}).drive()
    assert d.credentials == str(key) and d.subject == "a@b.org"


def test_archive_progress_counts_files_as_files_and_bytes_as_bytes():
    import io
    import re

    from rich.console import Console

    from oca_sync.cli_archive import ArchiveProgress

    buf = io.StringIO()
    progress = ArchiveProgress(Console(file=buf, force_terminal=True, width=120))
    progress.files(10)
    progress.file_started("video.mp4", 4_000_000)
    progress.bytes_at(1_000_000)
    progress.file_done(None)
    progress.bars.refresh()
    progress.stop()
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buf.getvalue())
    assert "1/10 files" in text and "1.0/4.0 MB" in text
    assert not re.search(r"\d+/10 bytes", text)
