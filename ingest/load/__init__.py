"""Stage 5, loading: an output's partitions into analysis stores, each exactly once.

common.py        the one-line error, the summary of a load, kill points for tests
outputs.py       an output folder's partitions, their files' hashes, their rows in Arrow batches
duckdb_store.py  loads into a DuckDB file, a partition per transaction
iceberg_store.py loads into Iceberg tables of a SQL catalog, the partition in each snapshot
target.py        `load(output, target)`: the store a target (duckdb:PATH, iceberg:FOLDER) names
"""
