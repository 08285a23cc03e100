"""Local emulators of the remote systems, for the demo and the integration tests.

* :class:`MoodleSandbox` answers like Moodle 5.1's REST web services
  (see ``docs/sandbox.md`` for what is emulated and the known differences);
* :class:`SandboxServer` is the threaded HTTP base every emulator shares, with
  fault injection (:class:`FaultInjector`) and a call log (:class:`CallLog`).
"""

from .httpserver import (
    FAULT_KINDS,
    CallLog,
    Fault,
    FaultInjector,
    Request,
    Response,
    SandboxServer,
    is_write_operation,
)
from .moodle import WS_PATH, MoodleSandbox, parse_php_vars
from .moodle_registry import CORE_FUNCTIONS as MOODLE_FUNCTIONS
from .moodle_functions import WsFunction

__all__ = [
    "FAULT_KINDS",
    "MOODLE_FUNCTIONS",
    "WS_PATH",
    "CallLog",
    "Fault",
    "FaultInjector",
    "MoodleSandbox",
    "Request",
    "Response",
    "SandboxServer",
    "WsFunction",
    "is_write_operation",
    "parse_php_vars",
]
