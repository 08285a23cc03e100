"""Zoom: the REST client (and, later, meetings, recordings, participants, webhooks).

:class:`ZoomClient` is the one way the tool talks to Zoom; its errors are in
:mod:`oca_sync.zoom.errors`. See ``docs/zoom.md`` for the app set-up.
"""

from .client import (
    DEFAULT_API_BASE,
    DEFAULT_OAUTH_URL,
    Download,
    ZoomClient,
    local_start_time,
    meeting_path_id,
    month_windows,
    parse_retry_after,
)
from .errors import (
    ZoomAuthError,
    ZoomDailyLimitReached,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_OAUTH_URL",
    "Download",
    "ZoomAuthError",
    "ZoomClient",
    "ZoomDailyLimitReached",
    "ZoomError",
    "ZoomNotFound",
    "ZoomRateLimited",
    "ZoomServerError",
    "ZoomTransportError",
    "local_start_time",
    "meeting_path_id",
    "month_windows",
    "parse_retry_after",
]
