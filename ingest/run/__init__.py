"""Running the stages: batches, phases in the workers, central steps, the report.

pipeline.py  a whole run (`run`): phases and central steps in order
batches.py   a run's files split into batches
prepare.py   phase 1: read, decode, extract, repair a batch
clean.py     phase 2: rules and boilerplate on a batch; words and sketches spilled
spill.py     a batch's spilled words and sketches, written and read back
decide.py    the central dedup step
passages.py  the passage phase: candidate pairs centrally, matches in the workers
report.py    `report.json`
explain.py   `ingest explain`: one file, every cut shown
inbox.py     incremental runs over an inbox: lock, ledger, partition, manifest
memory.py    the garbage collector around long-lived objects; freed pages returned
"""
