"""What the loader tests share: inbox outputs of several partitions, the `ingest load`
command in a real process, and the row counts a store should hold."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb

from ingest.config import load_config
from ingest.run.inbox import ingest_new
from ingest.write.jsonl import read_jsonl
from ingest.write.parquet import read_table, rows_of
from ingest.write.partitions import output_file, read_manifest
from tests.processes import INGEST, clean_env
from tests.samples import ARTICLE, article

OTHER = ("A storm closed the airport for six hours on Sunday, stranding hundreds of travellers in the terminal "
         "while airlines waited for the gusts to drop below the limit set by the regulator.")
QUOTE_START = 40  # the words of article(1) that article(2)'s story quotes


def quoting_story() -> str:
    """A distinct story that reuses a passage of article(1): a passage link each way."""
    quoted = " ".join(article(1).split()[QUOTE_START:QUOTE_START + 30])
    return article(2) + "\n\n" + f"As the first report put it: {quoted}."


# Files dropped into the inbox before each run: one partition a run. The second brings
# a duplicate of the first's, a reused passage (found within a run), a malformed line
# and new source fields.
DROPS = [
    {"ferry.txt": ARTICLE, "storm.txt": OTHER,
     "feed.jsonl": json.dumps({"text": article(3), "section": "world"}) + "\n"},
    {"ferry-copy.txt": "A second site's copy\n\n" + ARTICLE, "first.txt": article(1), "second.txt": quoting_story(),
     "wire.jsonl": json.dumps({"text": article(4), "desk": "sport", "tags": ["cup", "final"]}) + "\n{oops\n"},
    {"late.txt": article(5)},
]


def inbox_output(root: Path, fmt: str = "jsonl", drops: list[dict[str, str]] = DROPS) -> Path:
    """An inbox's output folder (OUT) with one partition per drop, written in `fmt`."""
    inbox, out, state = root / "inbox", root / "out", root / "state"
    inbox.mkdir(parents=True)
    config = load_config().with_format(fmt)
    for files in drops:
        for name, text in files.items():
            (inbox / name).write_text(text, encoding="utf-8")
        assert ingest_new(inbox, out, state, config).status == "ingested"
    return out


def output_rows(out: Path, kind: str) -> list[dict]:
    """The rows of one kind of every partition in OUT's manifest, JSON lines or Parquet."""
    found = []
    for entry in read_manifest(out):
        path = output_file(out / entry["partition"], kind)
        found += list(rows_of(kind, read_table(path, kind)) if path.suffix == ".parquet" else read_jsonl(path))
    return found


def expected_counts(out: Path) -> dict[str, int]:
    """The rows of every partition in OUT's manifest, by table."""
    counts = {"documents": 0, "duplicates": 0, "passages": 0, "rejects": 0, "loads": 0}
    for entry in read_manifest(out):
        path = output_file(out / entry["partition"], "documents")
        docs = list(rows_of("documents", read_table(path, "documents")) if path.suffix == ".parquet"
                    else read_jsonl(path))
        counts["documents"] += len(docs)
        counts["duplicates"] += entry["duplicates"]
        counts["rejects"] += entry["rejected"]
        counts["passages"] += sum(len(p["duplicates"]) for d in docs for p in d["passages"])
        counts["loads"] += 1
    return counts


def copied(out: Path, to: Path) -> Path:
    """A copy of the output folder OUT at `to`, its files' times and modes kept."""
    subprocess.run(["cp", "-a", str(out), str(to)], check=True)
    return to


def duckdb_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("documents", "duplicates", "passages", "rejects", "loads")}


def load(out: Path, target: str, prefix: tuple[str, ...] = (), batch_rows: int | None = None,
         **env: str) -> subprocess.CompletedProcess:
    """`ingest load OUT --into TARGET` in its own process; with `batch_rows`, a config of
    that [load] batch_rows beside the store."""
    options = []
    if batch_rows is not None:
        config = Path(target.partition(":")[2]).with_name(f"batch-{batch_rows}.toml")
        config.write_text(f"[load]\nbatch_rows = {batch_rows}\n", encoding="utf-8")
        options = ["--config", str(config)]
    return subprocess.run([*prefix, *INGEST, "load", str(out), "--into", target, *options], capture_output=True,
                          text=True, timeout=300, env=clean_env(**env))


def popen_load(out: Path, target: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([*INGEST, "load", str(out), "--into", target], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env(**env))


def one_line_error(result: subprocess.CompletedProcess, phrase: str) -> None:
    """Exit status 1 and one line on stderr that says `phrase`."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ingest: error: "), result.stderr
    assert phrase in lines[0], lines[0]


def duckdb_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in order (the `loads` rows without their time)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {t} ORDER BY ALL" if t == "loads"
                               else f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("documents", "duplicates", "passages", "rejects", "loads")}


def loaded_whole_and_batched(out: Path, store: str, name: str, root: Path) -> tuple[Path, Path]:
    """Two stores (`store` "duckdb" or "iceberg", at root/whole/NAME and root/batched/NAME)
    with OUT loaded in batches larger than its partitions and of one record each."""
    assert max(entry["documents"] for entry in read_manifest(out)) > 1  # several batches
    whole, batched = root / "whole" / name, root / "batched" / name
    for place, rows in ((whole, 1_000_000), (batched, 1)):
        place.parent.mkdir()
        result = load(out, f"{store}:{place}", batch_rows=rows)
        assert result.returncode == 0, result.stderr
    return whole, batched


def loaded_beside_a_copy(out: Path, store: str, name: str, root: Path,
                        counts: Callable[[Path], dict[str, int]]) -> Path:
    """A store (`store` "duckdb" or "iceberg", at root/NAME) with OUT loaded, then a copy
    of it at root/other: a second inbox run on the same schedule, whose partition folders
    have the same names. Both are loaded whole (`counts` reads the store)."""
    other = copied(out, root / "other")
    place = root / name
    assert load(out, f"{store}:{place}").returncode == 0
    once = counts(place)
    second = load(other, f"{store}:{place}")
    assert second.returncode == 0 and "3 partitions loaded" in second.stdout, second.stderr
    assert counts(place) == {table: 2 * n for table, n in once.items()}
    return place


def killed_between_batches_then_rerun(out: Path, target: str, counts: Callable[[], dict[str, int]]) -> None:
    """A load of one record per batch killed after the first partition's first batch
    leaves no row in the store (`counts` reads it); a rerun loads every row once."""
    from ingest.load.common import KILL_AT_VARIABLE

    killed = load(out, target, batch_rows=1, **{KILL_AT_VARIABLE: "between-batches"})
    assert killed.returncode == -9, killed.stderr
    assert counts() == dict.fromkeys(("documents", "duplicates", "passages", "rejects", "loads"), 0)
    rerun = load(out, target, batch_rows=1)
    assert rerun.returncode == 0, rerun.stderr
    assert counts() == expected_counts(out)


def iceberg_counts(folder: Path) -> dict[str, int]:
    from ingest.load.iceberg_store import NAMESPACE, catalog

    cat = catalog(folder)
    return {t: cat.load_table(f"{NAMESPACE}.{t}").scan().to_arrow().num_rows
            for t in ("documents", "duplicates", "passages", "rejects", "loads")}
