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
        ("April 14", None),
        ("not a date", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_iso_date(value, expected) -> None:
    assert iso_date(value) == expected
