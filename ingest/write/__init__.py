"""Stage 4, writing: the output files, each written atomically.

jsonl.py       atomic files, and JSON lines
outputs.py     documents.jsonl and duplicates.jsonl
rejects.py     rejects.jsonl
partitions.py  an inbox's partitions, and the manifest of complete ones
parquet.py     the Parquet schema of documents and rejects, and Parquet files
"""
