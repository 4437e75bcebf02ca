"""The `ingest` command: one module per command, `main.py` the group.

main.py     the command group
run.py      `ingest run`
explain.py  `ingest explain`
inbox.py    `ingest update` and `ingest serve`
load.py     `ingest load`
options.py  the scale-out options (--index, --runner, --dask-address)
common.py   exit codes, one-line errors, Prefect kept quiet, state checks
"""
