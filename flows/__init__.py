"""The Prefect layer: the library's stages mapped onto flows and tasks; no cleaning here.

ingest_flow.py     the `ingest` flow: phases as tasks, central steps in the flow
scheduled_flow.py  the `ingest-inbox` flow that scheduled runs deploy
workers.py         local worker processes for the batch tasks (no Prefect in them)
runners.py         where the batch tasks run: local workers or a Dask cluster
api_server.py      a temporary Prefect API for one run
retry.py           which failed tasks are run again: transient I/O errors only
artifacts.py       a run's report as a Prefect artifact
"""
