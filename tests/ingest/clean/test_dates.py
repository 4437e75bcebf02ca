from __future__ import annotations

import datetime as dt

import pytest

from ingest.clean.dates import iso_date


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Sunday 14 Apr 2024", "2024-04-14"),
        ("2024-04-14", "2024-04-14"),
        ("2024-04-14T09:30:00Z", "2024-04-14T09:30:00+00:00"),
        ("2024-04-14 09:30", "2024-04-14T09:30:00"),
        ("Mon, 15 Apr 2024 10:00:00 GMT", "2024-04-15T10:00:00+00:00"),
        (dt.date(2024, 4, 14), "2024-04-14"),
        (1713081600, "2024-04-14T08:00:00+00:00"),
        # The forms real exports use; the offset kept when given.
        ("2016-01-10 23:49:44", "2016-01-10T23:49:44"),
        ("Sun, 10 Jan 2016 23:49:44 +0000", "2016-01-10T23:49:44+00:00"),
        ("Sun, 10 Jan 2016 18:49:44 EST", "2016-01-10T18:49:44-05:00"),
        ("January 10, 2016", "2016-01-10"),
        ("2016-01-10T23:49:44+05:30", "2016-01-10T23:49:44+05:30"),
        ("2025-01-29 18:15:32 +0530", "2025-01-29T18:15:32+05:30"),
        ("1452469784", "2016-01-10T23:49:44+00:00"),
        ("1452469784000", "2016-01-10T23:49:44+00:00"),  # milliseconds
        (2016, None),  # a year, not Unix seconds
        ("April 14", None),
        ("not a date", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_iso_date(value, expected) -> None:
    assert iso_date(value) == expected
