"""Settings from environment variables and an optional TOML config file.

Precedence: environment variable > config file > default. Secrets are held as
``SecretStr`` so that printing a settings object never shows them, and they are
never written to the state store.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import SecretStr

from .errors import ConfigError

#: Standard role ids of a fresh Moodle install (lib/db/install.php creates them in this order).
DEFAULT_ROLE_IDS: dict[str, int] = {
    "manager": 1,
    "coursecreator": 2,
    "editingteacher": 3,
    "teacher": 4,
    "student": 5,
    "guest": 6,
    "user": 7,
    "frontpage": 8,
}

#: Every setting: name in the config file ("section.key") -> environment variable.
ENV_VARS: dict[str, str] = {
    "moodle.url": "OCA_MOODLE_URL",
    "moodle.token": "OCA_MOODLE_TOKEN",
    "moodle.timeout": "OCA_MOODLE_TIMEOUT",
    "moodle.concurrency": "OCA_MOODLE_CONCURRENCY",
    "moodle.role_ids": "OCA_MOODLE_ROLE_IDS",
    "moodle.languages": "OCA_MOODLE_LANGUAGES",
    "state.url": "OCA_STATE_URL",
    "zoom.account_id": "OCA_ZOOM_ACCOUNT_ID",
    "zoom.client_id": "OCA_ZOOM_CLIENT_ID",
    "zoom.client_secret": "OCA_ZOOM_CLIENT_SECRET",
    "zoom.api_url": "OCA_ZOOM_API_URL",
    "zoom.oauth_url": "OCA_ZOOM_OAUTH_URL",
    "zoom.webhook_secret": "OCA_ZOOM_WEBHOOK_SECRET",
    "drive.credentials": "OCA_DRIVE_CREDENTIALS",
    "drive.subject": "OCA_DRIVE_SUBJECT",
    "drive.shared_drive_id": "OCA_DRIVE_SHARED_DRIVE_ID",
    "drive.api_url": "OCA_DRIVE_API_URL",
    "drive.token": "OCA_DRIVE_TOKEN",
}

ZOOM_REQUIRED = ("zoom.account_id", "zoom.client_id", "zoom.client_secret")


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "oca-sync" / "config.toml"


def default_state_url() -> str:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(base) / 'oca-sync' / 'state.sqlite'}"


@dataclass(frozen=True)
class SiteOptions:
    """Facts about a Moodle site that its core web services cannot tell us."""

    role_ids: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_ROLE_IDS))
    #: Installed language packs: Moodle rejects a user ``lang`` that is not installed.
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class MoodleSettings:
    url: str
    token: SecretStr
    timeout: float = 30.0
    site: SiteOptions = field(default_factory=SiteOptions)
    #: Independent write batches sent at once by apply (1: one request at a time).
    concurrency: int = 4


@dataclass(frozen=True)
class Settings:
    """All settings the tool knows; ``moodle()`` raises if Moodle is not configured."""

    values: Mapping[str, str]
    source: Mapping[str, str]  # setting -> where it came from (for error messages)

    def get(self, name: str) -> str | None:
        v = self.values.get(name)
        return v if v not in (None, "") else None

    def state_url(self) -> str:
        return self.get("state.url") or default_state_url()

    def zoom(self) -> ZoomSettings | None:
        """Zoom's Server-to-Server OAuth app, or None when none of its settings is given."""
        given = [n for n in ZOOM_REQUIRED if self.get(n)]
        if not given:
            return None
        missing = [n for n in ZOOM_REQUIRED if not self.get(n)]
        if missing:
            raise ConfigError("Zoom is partly configured: also set " + " and ".join(ENV_VARS[n] for n in missing))
        return ZoomSettings(
            account_id=str(self.get("zoom.account_id")),
            client_id=str(self.get("zoom.client_id")),
            client_secret=SecretStr(str(self.get("zoom.client_secret"))),
            api_url=str(self.get("zoom.api_url") or "https://api.zoom.us/v2").rstrip("/"),
            oauth_url=str(self.get("zoom.oauth_url") or "https://zoom.us/oauth/token"),
        )

    def webhook_secret(self) -> SecretStr:
        secret = self.get("zoom.webhook_secret")
        if not secret:
            raise ConfigError("set OCA_ZOOM_WEBHOOK_SECRET to the Secret Token of your Zoom app's event subscription")
        return SecretStr(secret)

    def drive(self) -> DriveSettings:
        creds, url, token = self.get("drive.credentials"), self.get("drive.api_url"), self.get("drive.token")
        if not creds and not (url and token):
            raise ConfigError(
                "Google Drive is not configured. Set OCA_DRIVE_CREDENTIALS to a service account's key file "
                "(and OCA_DRIVE_SHARED_DRIVE_ID, or OCA_DRIVE_SUBJECT for domain-wide delegation); see docs/drive.md")
        if creds and not Path(creds).expanduser().is_file():
            raise ConfigError(f"OCA_DRIVE_CREDENTIALS: no file {creds}")
        return DriveSettings(
            credentials=str(Path(creds).expanduser()) if creds else None, subject=self.get("drive.subject"),
            shared_drive_id=self.get("drive.shared_drive_id"), api_url=url,
            token=SecretStr(token) if token else None)

    def moodle(self) -> MoodleSettings:
        missing = [n for n in ("moodle.url", "moodle.token") if not self.get(n)]
        if missing:
            lines = [f"  export {ENV_VARS[n]}=..." for n in missing]
            raise ConfigError(
                "Moodle is not configured. Set "
                + " and ".join(ENV_VARS[n] for n in missing)
                + " (or put them under [moodle] in "
                + str(default_config_path())
                + "):\n"
                + "\n".join(lines)
                + "\nTo try oca-sync without a Moodle site, run: oca-sync demo"
            )
        url = str(self.get("moodle.url")).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{ENV_VARS['moodle.url']} must start with http:// or https:// (got {url!r})")
        try:
            timeout = float(self.get("moodle.timeout") or 30)
        except ValueError:
            raise ConfigError(f"{ENV_VARS['moodle.timeout']} must be a number of seconds") from None
        concurrency = parse_concurrency(self.get("moodle.concurrency"), self.source.get("moodle.concurrency", ""))
        return MoodleSettings(
            url=url,
            token=SecretStr(str(self.get("moodle.token"))),
            timeout=timeout,
            concurrency=concurrency,
            site=SiteOptions(
                role_ids=parse_role_ids(self.get("moodle.role_ids")),
                languages=parse_languages(self.get("moodle.languages")),
            ),
        )


@dataclass(frozen=True)
class ZoomSettings:
    account_id: str
    client_id: str
    client_secret: SecretStr
    api_url: str = "https://api.zoom.us/v2"
    oauth_url: str = "https://zoom.us/oauth/token"


@dataclass(frozen=True)
class DriveSettings:
    credentials: str | None  # key file of a service account or an authorised user
    subject: str | None = None
    shared_drive_id: str | None = None
    api_url: str | None = None  # the sandbox's root URL
    token: SecretStr | None = None  # the sandbox's bearer token


def parse_role_ids(text: str | None) -> dict[str, int]:
    """``"student=5,teacher=4"`` over the defaults of a standard install."""
    ids = dict(DEFAULT_ROLE_IDS)
    if not text:
        return ids
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise ConfigError(
                f"{ENV_VARS['moodle.role_ids']}: {part.strip()!r} is not shortname=id (e.g. student=5,teacher=4)"
            )
        ids[name.strip()] = int(value)
    return ids


def parse_languages(text: str | None) -> tuple[str, ...]:
    """``"en,ru,ky"``: the language packs installed on the site (default: en only)."""
    if not text:
        return ("en",)
    langs = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in langs if not x.replace("_", "").isalnum()]
    if bad or not langs:
        raise ConfigError(f"{ENV_VARS['moodle.languages']}: expected language codes like en,ru,ky (got {text!r})")
    return langs


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in data.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            if k == "role_ids":
                out[name] = ",".join(f"{rk}={rv}" for rk, rv in v.items())
            else:
                out.update(_flatten(v, name + "."))
        elif isinstance(v, list):
            out[name] = ",".join(str(x) for x in v)
        else:
            out[name] = str(v)
    return out


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (if any) and the environment."""
    env = os.environ if environ is None else environ
    path = Path(config_file or env.get("OCA_CONFIG") or default_config_path())
    values: dict[str, str] = {}
    source: dict[str, str] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        for k, v in _flatten(data).items():
            if k not in ENV_VARS:
                raise ConfigError(f"{path}: unknown setting {k!r}; known: {', '.join(sorted(ENV_VARS))}")
            values[k] = v
            source[k] = str(path)
    elif config_file:
        raise ConfigError(f"config file {path} does not exist")
    for name, var in ENV_VARS.items():
        if env.get(var):
            values[name] = env[var]
            source[name] = f"${var}"
    return Settings(values=values, source=source)


#: The most requests apply sends at once: a few keep a site's PHP workers busy without crowding out its users.
MAX_CONCURRENCY = 16


def parse_concurrency(value: str | None, where: str = "") -> int:
    """``OCA_MOODLE_CONCURRENCY``: 1 to MAX_CONCURRENCY, default 4."""
    if value is None:
        return MoodleSettings.concurrency
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
        origin = f" (from {where})" if where else ""
        raise ConfigError(f"{ENV_VARS['moodle.concurrency']} must be a whole number from 1 to {MAX_CONCURRENCY}, "
                          f"got {value!r}{origin}")
    return int(text)
