"""One error hierarchy and one table of exit codes for the whole tool.

The CLI catches :class:`OcaError` once and exits with its ``exit_code``; every
other module raises one of these instead of printing or exiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Exit codes of every ``oca-sync`` command (documented in the README)."""

    OK = 0
    #: Something went wrong while talking to a service or the local state.
    ERROR = 1
    #: Invalid input (spec, options) or missing configuration: nothing was written.
    USAGE = 2
    #: ``plan --detailed-exitcode``: the plan has changes.
    CHANGES = 3


class OcaError(Exception):
    """Base of every error the tool reports to the user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(OcaError):
    """Bad options or missing settings; the message says what to change."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file, located as precisely as possible."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class SpecError(UsageError):
    """A spec (or a file it references) is invalid; carries every issue found."""

    def __init__(self, issues: list[SpecIssue], what: str = "error", why: str = "") -> None:
        self.issues = issues
        n = len(issues)
        head = f"{n} {what}{'s' if n != 1 else ''} in the course specification{why}"
        super().__init__(head + ":\n" + "\n".join(f"  {i}" for i in issues))


class LockedError(OcaError):
    """Another apply holds the lock."""


class StateError(OcaError):
    """The local state store cannot be used."""


class RemoteError(OcaError):
    """A remote service failed or refused a request."""

    service = "remote"


#: What to do about the Moodle errors an administrator can fix, appended to their message.
MOODLE_HINTS = {
    "invalidtoken": "The token is wrong, expired or deleted: create one for the oca-sync service "
                    "(Site administration > Server > Web services > Manage tokens), set OCA_MOODLE_TOKEN, "
                    "and check with `oca-sync moodle doctor`",
    "accessexception": "The token's service lacks this function, or its user a capability: "
                       "run `oca-sync moodle doctor` to see which",
    "webservicesnotenabled": "Enable web services (Site administration > General > Advanced features)",
    "servicenotavailable": "The token's service is disabled or the user is not authorised for it "
                           "(Site administration > Server > Web services > External services)",
}


class MoodleError(RemoteError):
    """Moodle answered with its exception JSON (HTTP 200 with ``exception``)."""

    service = "moodle"

    def __init__(
        self,
        errorcode: str,
        message: str,
        *,
        exception: str = "",
        debuginfo: str | None = None,
        function: str | None = None,
    ) -> None:
        self.errorcode = errorcode
        self.exception = exception
        self.debuginfo = debuginfo
        self.function = function
        text = f"Moodle error {errorcode}"
        if function:
            text += f" in {function}"
        text += f": {message}"
        if debuginfo:
            text += f" ({debuginfo.strip()})"
        if errorcode in MOODLE_HINTS:
            text += f". {MOODLE_HINTS[errorcode]}"
        super().__init__(text)
        self.remote_message = message


class MoodleTransportError(RemoteError):
    """Moodle could not be reached or answered something that is not its JSON."""

    service = "moodle"


class MoodleUnreachable(MoodleTransportError):
    """Nothing answered at the site's address (refused, not resolved, TLS): Moodle's settings are not the cause."""


class WriteOutcomeUnknown(RemoteError):
    """A write was sent but its answer was lost: it may or may not have happened.

    Callers must re-observe before deciding whether to send it again.
    """

    def __init__(self, function: str, cause: str) -> None:
        self.function = function
        self.cause = cause
        super().__init__(f"the outcome of {function} is unknown: it was sent but its answer was lost ({cause})")


def redact(text: str, *secrets: Any) -> str:
    """Replace every non-empty secret in ``text`` by ``***``."""
    for s in secrets:
        if s:
            text = text.replace(str(s), "***")
    return text
