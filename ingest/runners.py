"""Where a run's batch tasks can run: `[run] runner` and `--runner` take these names.

"process": a pool of worker processes on this machine; "dask": a Dask cluster. Only
the standard library here: the command line reads this before it imports pydantic.
"""

RUNNERS = ("process", "dask")
