"""Which files a run reads: the command-line paths, and the files under folders.

`discover` turns the paths into a sorted list of `InputFile`s. Hidden names are skipped
(`read.skip_hidden`), symbolic links are not followed unless `read.follow_symlinks`,
and what cannot be listed or is not a regular file is still listed, so that reading it
gives a reject instead of it vanishing silently.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.config import ReadConfig


@dataclass(frozen=True)
class InputFile:
    path: str  # filesystem path of the file
    source: str  # the name used in output (the argument, or argument/relative path)
    size: int  # bytes on disk


def discover(paths: Sequence[str | InputFile], config: ReadConfig) -> list[InputFile]:
    """The files named by `paths` and the files under the directories among them.

    Sorted by source; a source reached twice is listed once.  Raises FileNotFoundError
    for a path that does not exist.  An `InputFile` among `paths` was discovered
    earlier (a scheduled run lists and hashes its inbox first) and is kept as it is:
    when it has gone since, reading it gives its reject.
    """
    found: dict[str, InputFile] = {}
    for arg in paths:
        if isinstance(arg, InputFile):
            found.setdefault(arg.source, arg)
            continue
        try:
            info = os.stat(arg)
        except (FileNotFoundError, NotADirectoryError):
            what = "is a broken symbolic link" if os.path.islink(arg) else "does not exist"
            raise FileNotFoundError(f"input path {arg!r} {what}") from None
        except OSError:
            info = None  # exists but cannot be inspected: reading it will report why
        if info is not None and stat.S_ISDIR(info.st_mode):
            for item in _walk(arg, config):
                found.setdefault(item.source, item)
        else:
            found.setdefault(arg, InputFile(arg, arg, info.st_size if info else 0))
    return sorted(found.values(), key=lambda item: item.source)


def _walk(top: str, config: ReadConfig) -> Iterator[InputFile]:
    def source_of(path: str) -> str:
        rel = os.path.relpath(path, top)
        return top if rel == os.curdir else os.path.join(top, rel)

    # A directory that cannot be listed is handed on as an input so that reading it
    # produces an "Unreadable" reject instead of its files vanishing silently.
    unlistable: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    walk = os.walk(top, onerror=lambda exc: unlistable.append(exc.filename), followlinks=config.follow_symlinks)
    for dirpath, dirnames, filenames in walk:
        if config.follow_symlinks and not _first_visit(dirpath, seen_dirs):
            dirnames.clear()  # a symlink loop, or a directory reached twice
            continue
        dirnames[:] = [d for d in dirnames if _wanted(dirpath, d, config)]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not _wanted(dirpath, name, config):
                continue
            try:
                info = os.stat(path)
            except OSError:
                yield InputFile(path, source_of(path), 0)  # e.g. a dangling link
                continue
            # FIFOs, sockets and devices are listed too, so that each gets a reject
            # (reading refuses them without blocking) instead of vanishing silently.
            yield InputFile(path, source_of(path), info.st_size if stat.S_ISREG(info.st_mode) else 0)
    for path in unlistable:
        yield InputFile(path, source_of(path), 0)


def _wanted(dirpath: str, name: str, config: ReadConfig) -> bool:
    if config.skip_hidden and name.startswith("."):
        return False
    return config.follow_symlinks or not os.path.islink(os.path.join(dirpath, name))


def _first_visit(dirpath: str, seen: set[tuple[int, int]]) -> bool:
    try:
        info = os.stat(dirpath)
    except OSError:
        return True
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True
