"""Vietnam time: the zone of every date newsmon reads without an offset and of every one it shows.

Apart from `config.settings` so that what only needs the zone (the extraction modules, the
article record) does not load pydantic-settings: about 0.03 s of the extraction modules'
0.25 s import (measured as whole processes), which each crawl's extraction fork server pays.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Ho_Chi_Minh"
VN_TZ = ZoneInfo(TIMEZONE)
