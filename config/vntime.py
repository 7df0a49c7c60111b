"""Vietnam time: the zone of every date newsmon reads without an offset and of every one it shows.

Apart from `config.settings` so that what only needs the zone (the extraction workers, the
article record) does not load pydantic-settings, a seventh of a worker's start-up.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Ho_Chi_Minh"
VN_TZ = ZoneInfo(TIMEZONE)
