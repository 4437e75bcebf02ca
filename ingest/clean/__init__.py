"""Stage 2, cleaning: one record's bytes into clean text and metadata, every cut recorded.

decode.py        bytes to text (BOM, UTF-8, declared charset, detection)
repair.py        repair of the text: mojibake, entities, controls, normalisation
html.py          main text and metadata of HTML pages (trafilatura)
markdown.py      main text of Markdown files
fragment.py      main text of HTML post content (feed entries, WordPress items)
front_matter.py  front matter: YAML, TOML, JSON, Pelican header lines
metadata.py      standard metadata by the convention sets of `[metadata]`, values normalised
dates.py         dates in any common form, as ISO 8601
layout.py        the layout the rules see: one paragraph per line
rules.py         the named artefact rules, with the audit trail (`Cleaner`)
literals.py      the rules' prefilter: literals every match contains
boilerplate.py   learned boilerplate: lines repeated across a site's documents
record.py        one record through all of these: `prepare_record`, `clean_record`
"""
