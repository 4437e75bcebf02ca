"""Publication dates from whatever form a source gives them, as ISO 8601."""

from __future__ import annotations

import datetime as dt

from dateutil import parser as date_parser

# Defaults for missing parts; a value that only names a day stays a plain date.
_SENTINEL_A = dt.datetime(2000, 1, 1, 0, 0, 0)
_SENTINEL_B = dt.datetime(2001, 2, 2, 1, 1, 1)


def iso_date(value: object) -> str | None:
    """ISO 8601 for a date or date-time value; None when it is not one.

    "Sunday 14 Apr 2024" -> "2024-04-14"; "2024-04-14T09:30:00Z" -> "2024-04-14T09:30:00+00:00".
    A time is kept only when the value has one; a value without a year is refused
    rather than completed with a guess.
    """
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Unix seconds, as feeds and JSONL exports often carry them.
        if 0 < value < 32503680000:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc).isoformat()
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    try:
        a = date_parser.parse(value, default=_SENTINEL_A, fuzzy=False)
        b = date_parser.parse(value, default=_SENTINEL_B, fuzzy=False)
    except (ValueError, OverflowError):
        return None
    if a.year != b.year or a.month != b.month or a.day != b.day:
        return None  # year, month or day missing from the value
    if (a.hour, a.minute) != (b.hour, b.minute):
        return a.date().isoformat()
    return a.isoformat()
