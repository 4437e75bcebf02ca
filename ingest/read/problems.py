"""Problems with an input, as the reject records they become.

A reader never raises on bad input: a `ReadProblem` ends the reading of a file where it
is caught, and becomes a `Reject` whose reason is one line naming the file (and the
line or record) and what is wrong.
"""

from __future__ import annotations

import re

from ingest.document import Reject
from ingest.read.files import InputFile


class ReadProblem(Exception):
    """A problem that ends reading a file; becomes a Reject where it is caught."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def reject(f: InputFile, error: str, detail: str, record_no: int | None = None) -> Reject:
    source = f.source if record_no is None else f"{f.source}#{record_no}"
    reason = re.sub(r"\s*[\r\n]+\s*", " ", f"{source}: {detail}")
    return Reject(source=source, reason=reason, error=error, path=f.path, record_no=record_no)


def describe(exc: BaseException) -> str:
    """An exception as a short phrase for a reason."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."
