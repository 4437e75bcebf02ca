"""Publication dates from whatever form a source gives them, as ISO 8601."""

from __future__ import annotations

import datetime as dt
import re
import warnings

from dateutil import parser as date_parser

# Defaults for missing parts; a value that only names a day stays a plain date.
_SENTINEL_A = dt.datetime(2000, 1, 1, 0, 0, 0)
_SENTINEL_B = dt.datetime(2001, 2, 2, 1, 1, 1)

# The zone names RFC 822 defines besides UT/GMT (which dateutil knows), as offsets.
_RFC822_ZONES = {name: hours * 3600 for name, hours in
                 {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}.items()}

# Unix seconds from 1973 to 2999: smaller numbers are years or counts, not dates.
_EPOCH_MIN, _EPOCH_MAX = 100_000_000, 32503680000
# Unix seconds (or milliseconds) written as a string, as CSV and JSON exports carry them.
_EPOCH_TEXT = re.compile(r"\A\s*(\d{9,10}(?:\.\d+)?|\d{12,13})\s*\Z")


def iso_date(value: object) -> str | None:
    """ISO 8601 for a date or date-time value; None when it is not one.

    "Sunday 14 Apr 2024" -> "2024-04-14"; "2024-04-14T09:30:00Z" -> "2024-04-14T09:30:00+00:00";
    "Sun, 10 Jan 2016 23:49:44 +0000" -> "2016-01-10T23:49:44+00:00"; 1452469784 (Unix
    seconds, a number or its digits) -> "2016-01-10T23:49:44+00:00". A time is kept only
    when the value has one, its offset only when it has one; a value without a year is
    refused rather than completed with a guess.
    """
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Unix seconds, as feeds and JSONL exports often carry them.
        if _EPOCH_MIN <= value < _EPOCH_MAX:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc).isoformat()
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    if match := _EPOCH_TEXT.match(value):
        seconds = float(match.group(1))
        return iso_date(seconds / 1000 if len(match.group(1)) >= 12 else seconds)
    try:
        with warnings.catch_warnings():
            # Another zone name ("CET") is read as no zone, without a warning per value.
            warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
            a = date_parser.parse(value, default=_SENTINEL_A, fuzzy=False, tzinfos=_RFC822_ZONES)
            b = date_parser.parse(value, default=_SENTINEL_B, fuzzy=False, tzinfos=_RFC822_ZONES)
    except (ValueError, OverflowError):
        return None
    if a.year != b.year or a.month != b.month or a.day != b.day:
        return None  # year, month or day missing from the value
    if (a.hour, a.minute) != (b.hour, b.minute):
        return a.date().isoformat()
    return a.isoformat()
