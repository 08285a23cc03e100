"""Every emulated core web-service function, registered by importing the modules that define them.

The function modules (``moodle_fn_*``) all build on :mod:`.moodle_functions`;
importing them here, and not from that base module, keeps the imports one-way.
"""

from __future__ import annotations

from . import (  # noqa: F401 - they register
    moodle_fn_calendar,
    moodle_fn_courses,
    moodle_fn_forum,
    moodle_fn_format,
    moodle_fn_people,
)
from .moodle_functions import REGISTRY, WsFunction

#: name -> emulated core function (plugins' functions are added per site: see MoodleSandbox)
CORE_FUNCTIONS: dict[str, WsFunction] = REGISTRY

__all__ = ["CORE_FUNCTIONS"]
