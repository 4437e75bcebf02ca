"""Stage 3, near-duplicates: MinHash and LSH candidates, verified on their words, clustered; reused passages.

shingles.py   words, n-gram hashes and shingle sets, and their Jaccard
minhash.py    MinHash signatures, and a document's `Sketch`
lsh.py        LSH banding: candidate pairs, band keys for an index
spilled_lsh.py  the LSH banding out of core: the same pairs, spilled by ranges to disk
part_files.py   arrays spilled to one file per part, read back part by part
marks.py      which words are figures and names
verify.py     whether two texts are one story: aligned words, containment, figures and names
sketch_table.py  a run's sketches as columns, each `Sketch` made when read
pair_rounds.py  candidate pairs verified in rounds, skipped when verified pairs connect them already
verified_pairs.py  the verified pairs as columns, and their connected components
clusters.py   candidates verified, clustered, one kept, every copy linked (`Deduplicator`)
keep.py       the keep policy: which document of a cluster is kept
decisions.py  what dedup decides: a `Decision` per document, the run's `DedupResult`
prior.py      documents of earlier runs, as dedup meets them through an index
passages.py   reused passages between distinct stories
shared_runs.py  the runs of n-grams pairs of stories share, merged into passages
stock_phrases.py  the run's stock phrases: anchors in too many stories, the words they cover
spilled_anchors.py  passage candidate pairs out of core: the same pairs, spilled to disk
"""
