"""WordPress exports (WXR: RSS 2.0 with the wp: namespace): each post or page one record.

The file is parsed as a stream (lxml's iterparse), each `<item>` dropped once read, so
an export of any size takes the memory of one item. Entities are never expanded and
nothing is fetched (no XXE, no entity bombs), and libxml2's limits on depth and text
size stay on. An item's child elements become fields under the prefixed names the
export writes ("wp:post_type", "content:encoded", "dc:creator"), whatever URI the
prefixes are bound to (exports say http:// or https://); `[read.wxr]` names the fields
that carry the body and the standard metadata. Items of other post types
(attachments, revisions, menu items) are `Skipped`, counted by type.

Malformed XML is read on in libxml2's recovery mode, so the items after a bad
character or entity are kept; the file's first error becomes one reject naming its line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from ingest.config import ReadConfig, WxrConfig
from ingest.document import RawRecord, Reject, Skipped
from ingest.read.fields import item_record
from ingest.read.files import InputFile
from ingest.read.problems import ReadProblem, describe, reject

# MySQL's zero date: WordPress's "no date" (drafts have no GMT date yet).
_ZERO_DATE = re.compile(r"0000-00-00")
_NAIVE_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?")


def read_wxr_records(
    f: InputFile, stream: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject | Skipped]:
    """One record per post or page, a `Skipped` per other item, in file order."""
    parser = etree.iterparse(
        stream, events=("start-ns", "end"), resolve_entities=False, no_network=True, load_dtd=False,
        huge_tree=False, recover=True, remove_comments=True, remove_pis=True,
    )
    prefixes: dict[str, str] = {}  # namespace URI -> the prefix the export gives it
    site: dict[str, Any] = {}
    n = 0
    try:
        for event, element in parser:
            if event == "start-ns":
                prefix, uri = element
                prefixes.setdefault(uri, prefix)
                continue
            name = _prefixed(element.tag, prefixes)
            parent = element.getparent()
            if name == "item":
                n += 1
                yield _item(f, n, element, prefixes, site, meta, config)
                if parent is not None:
                    parent.remove(element)  # keep memory to one item
            elif parent is not None and _prefixed(parent.tag, prefixes) == "channel":
                if name in ("title", "link") and name not in site:
                    site[name] = _text(element)
                parent.remove(element)  # authors, terms: not documents
    except etree.XMLSyntaxError as exc:  # what recovery cannot get past
        yield reject(f, "MalformedXML", f"reading stopped at item {n + 1}: {_syntax_error(exc)}", n + 1)
        return
    except ReadProblem as bad:
        yield reject(f, bad.error, f"reading stopped at item {n + 1}: {bad.detail}", n + 1)
        return
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        yield reject(f, "MalformedXML", f"the XML is malformed at line {first.line}: {first.message.strip()}{more};"
                     " the items around it were read as libxml2 recovered them")
    elif n == 0:
        yield reject(f, "EmptyFile", "the WordPress export holds no items")


def _item(f: InputFile, n: int, item: Any, prefixes: dict[str, str], site: dict[str, Any],
          meta: dict[str, Any], config: ReadConfig) -> RawRecord | Reject | Skipped:
    wxr = config.wxr
    fields = _item_fields(item, prefixes, wxr)
    post_type = fields.get(wxr.type_field)
    if post_type and post_type not in wxr.document_types:
        return Skipped(source=f"{f.source}#{n}", kind=f"wxr:{post_type}")
    if site.get("link"):
        fields.setdefault("site_url", site["link"])
    if site.get("title"):
        fields.setdefault("site_title", site["title"])
    where = f"item {n} (line {item.sourceline})"
    record = item_record(f, n, where, fields, wxr, meta, html_format="html-fragment")
    if isinstance(record, RawRecord) and len(record.data.encode("utf-8", "surrogatepass")) > config.max_record_bytes:
        return reject(f, "TooLarge", f"{where} has content larger than read.max_record_bytes"
                      f" ({config.max_record_bytes} bytes)", n)
    return record


def _item_fields(item: Any, prefixes: dict[str, str], wxr: WxrConfig) -> dict[str, Any]:
    """An item's children as fields: text by prefixed name, categories by domain, custom
    fields (wp:postmeta, those not hidden with a leading "_") under "postmeta"."""
    fields: dict[str, Any] = {}
    postmeta: dict[str, str] = {}
    comments = 0
    for child in item:
        name = _prefixed(child.tag, prefixes)
        if name == "category":
            key = wxr.category_domains.get(child.get("domain", ""))
            if key:
                fields.setdefault(key, []).append(_text(child))
        elif name == "wp:postmeta":
            key = _text(child.find("{*}meta_key"))
            if key and not key.startswith("_"):
                postmeta[key] = _text(child.find("{*}meta_value"))
        elif name == "wp:comment":
            comments += 1
        elif child.find("*") is None:  # a leaf (unexpanded entity references are no elements)
            value = _text(child) if name not in wxr.html else "".join(child.itertext())
            if (value or name in wxr.html) and name not in fields:  # a repeated element: the first counts
                fields[name] = value
    for name in wxr.utc_fields:
        value = fields.get(name)
        if isinstance(value, str):
            if _ZERO_DATE.match(value):
                del fields[name]
            elif _NAIVE_DATE_TIME.fullmatch(value):
                fields[name] = value.replace(" ", "T") + "Z"
    for name, value in list(fields.items()):
        if isinstance(value, str) and _ZERO_DATE.match(value):
            del fields[name]  # not a date
    if postmeta:
        fields["postmeta"] = postmeta
    if comments:
        fields["comment_count"] = comments
    return fields


def _prefixed(tag: Any, prefixes: dict[str, str]) -> str:
    """"{uri}local" as "prefix:local" by the export's own prefixes; "local" without one."""
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = prefixes.get(uri)
        return f"{prefix}:{local}" if prefix else local
    return tag


def _text(element: Any) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    line = getattr(exc, "lineno", None)
    return f"the XML is malformed at line {line} ({describe(exc)})" if line else f"the XML is malformed ({describe(exc)})"
