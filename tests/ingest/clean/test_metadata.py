"""Standard metadata by the convention sets of `[metadata]`: which source field wins,
how values are normalised, drafts; on real posts of each convention (tests/fixtures/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.clean.metadata import created_date, draft_flag, standard_metadata
from ingest.clean.record import prepare_record
from ingest.config import ConfigError, load_config
from ingest.document import RawRecord

CONFIG = load_config()
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def prepared(path: Path, config=CONFIG) -> dict:
    """A fixture file through decoding, extraction and the convention sets."""
    data = path.read_bytes()
    return prepare_record(RawRecord(source=str(path), path=str(path), format="markdown", data=data), config)


# ------------------------------------------------------------------ conventions


def test_wordpress_jekyll_exporter_fields_are_the_standard_ones():
    front = {
        "ID": 1112,
        "post_title": "Hacker Lexicon: What It&#039;s Called\n",
        "post_date": "2016-01-10 23:49:44",
        "permalink": "https://blog.example/hacker-lexicon/\n",
        "original_link": ["https://wired.example/2016/01/hacker-lexicon/\n"],
        "canonical_url": ["https://wired.example/2016/01/hacker-lexicon/\n"],
        "post_excerpt": "",
        "published": True,
    }
    standard = standard_metadata(front, CONFIG.metadata)
    assert standard["title"] == "Hacker Lexicon: What It's Called"
    assert standard["url"] == "https://blog.example/hacker-lexicon/"
    # The original is kept beside the page's own address, never in its place.
    assert standard["canonical_url"] == "https://wired.example/2016/01/hacker-lexicon/"
    assert standard["summary"] is None  # an empty excerpt is no summary
    assert standard["draft"] is False
    assert created_date(front, CONFIG.metadata) == "2016-01-10T23:49:44"


def test_publication_date_comes_before_the_modification_date():
    front = {"lastmod": "2020-05-01", "date": "2019-03-16T23:41:17+09:00"}
    assert created_date(front, CONFIG.metadata) == "2019-03-16T23:41:17+09:00"
    assert standard_metadata(front, CONFIG.metadata)["modified"] == "2020-05-01"
    # With no publication date, the modification date is the best there is.
    assert created_date({"lastmod": "2020-05-01"}, CONFIG.metadata) == "2020-05-01"
    # A value that does not read as a date gives way to the next field.
    assert created_date({"post_date": "soon", "date": "January 10, 2016"}, CONFIG.metadata) == "2016-01-10"


@pytest.mark.parametrize(
    "front, expected",
    [
        ({"author": {"name": "Spiegel", "url": "https://baldanders.info/profile/"}}, "Spiegel"),  # Hugo [author]
        ({"author": ["Jane Doe"]}, "Jane Doe"),
        ({"authors": ["Jane Doe", "John Roe"]}, ["Jane Doe", "John Roe"]),
        ({"byline": "  Jane\n Doe "}, "Jane Doe"),
        ({"author": ""}, None),
    ],
)
def test_author_values(front, expected):
    assert standard_metadata(front, CONFIG.metadata)["author"] == expected


def test_lone_category_and_tag_become_lists():
    standard = standard_metadata({"category": "release", "tags": "ferry", "title": 2016}, CONFIG.metadata)
    assert standard["categories"] == ["release"]
    assert standard["tags"] == ["ferry"]
    assert standard["title"] == "2016"


@pytest.mark.parametrize(
    "front, draft",
    [
        ({"draft": True}, True),
        ({"draft": "true"}, True),
        ({"draft": False}, False),
        ({"published": False}, True),
        ({"published": "no"}, True),
        ({"published": True}, False),
        ({"status": "Draft"}, True),
        ({"post_status": "pending"}, True),
        ({"status": "publish"}, False),
        ({"title": "no word on it"}, None),
        ({"draft": "maybe"}, None),
    ],
)
def test_drafts(front, draft):
    assert draft_flag(front, CONFIG.metadata) is draft


def test_a_user_config_changes_a_set_and_adds_one(tmp_path: Path):
    path = tmp_path / "conventions.toml"
    path.write_text(
        '[metadata]\nconventions = ["mysite", "hugo", "generic"]\n'
        '[metadata.sets.hugo]\nmodified = ["lastmod", "update"]\n'
        '[metadata.sets.mysite]\ntitle = ["headline_text"]\ndate = ["first_seen"]\n',
        encoding="utf-8",
    )
    config = load_config(path).metadata
    front = {"headline_text": "Own title", "title": "Generic title", "first_seen": "1452469784",
             "update": "2017-10-15T09:23:00+09:00"}
    standard = standard_metadata(front, config)
    assert standard["title"] == "Own title"
    assert standard["modified"] == "2017-10-15T09:23:00+09:00"
    assert created_date(front, config) == "2016-01-10T23:49:44+00:00"
    # Sets left out of `conventions` are not consulted.
    assert standard_metadata({"post_title": "x"}, config)["title"] is None


def test_an_undefined_set_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('[metadata]\nconventions = ["hugo", "wordpress"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metadata: .*conventions lists undefined sets: wordpress"):
        load_config(path)


def test_an_unknown_convention_field_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('[metadata.sets.hugo]\nheadline = ["title"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metadata\.sets\.hugo\.headline"):
        load_config(path)


# ------------------------------------------------------------------ real posts


def test_wordpress_jekyll_exporter_post():
    row = prepared(FIXTURES / "easyengine-docs" / "enable-virtio-existing-vms.md")
    metadata = row["metadata"]
    assert metadata["title"] == "Enable virtio for existing VM\u2019s"  # &#8217; decoded
    assert metadata["url"] == "https://easyengine.io/tutorials/kvm/enable-virtio-existing-vms/"  # folded scalar
    assert metadata["author"] == "Rahul Bansal"
    assert metadata["draft"] is False
    assert row["created"] == "2013-07-10T18:00:22"
    assert metadata["post_title"] == "Enable virtio for existing VM&#8217;s"  # the source's field as it was
    assert row["text"].startswith("On one of our host machine")


def test_wordpress_jekyll_exporter_folded_title():
    row = prepared(FIXTURES / "easyengine-docs" / "2014-02-05-easyengine-is-gpl.md")
    assert row["metadata"]["title"] == "EasyEngine is GPL (and why we choose GPL)"


def test_jekyll_post():
    row = prepared(FIXTURES / "jekyll-docs" / "2025-01-29-jekyll-4-4-1-released.markdown")
    assert row["metadata"]["title"] == "Jekyll 4.4.1 Released"
    assert row["metadata"]["author"] == "ashmaroli"
    assert row["metadata"]["categories"] == ["release"]
    assert row["created"] == "2025-01-29T18:15:32+05:30"  # the offset kept


def test_hugo_toml_post():
    row = prepared(FIXTURES / "baldanders-hugo" / "adblock.md")
    metadata = row["metadata"]
    assert metadata["title"] == "広告をブロックしたスペースに広告を入れる Adblock"
    assert metadata["author"] == "Spiegel"
    assert metadata["tags"] == ["code", "politics", "censorship", "web", "media", "grigori"]
    assert metadata["draft"] is False
    assert row["created"] == "2016-03-14T13:46:45+09:00"
    # The site's own "update" key is no convention's: a user's set would name it.
    assert metadata["modified"] is None


def test_pelican_posts():
    row = prepared(FIXTURES / "pelican-tests" / "article_with_duplicate_tags_authors.md")
    metadata = row["metadata"]
    assert metadata["title"] == "Test metadata duplicates"
    assert metadata["author"] == ["Author, First", "Author, Second"]
    assert metadata["tags"] == ["foo", "bar", "foobar"]
    assert metadata["categories"] == ["test"]
    assert metadata["modified"] == "2010-12-02T10:20:00"
    assert row["created"] == "2010-12-02T10:14:00"
    assert row["text"].startswith("Test Markdown File Header")
    assert "Title:" not in row["text"]
    draft = prepared(FIXTURES / "pelican-tests" / "article_draft.md")
    assert draft["metadata"]["draft"] is True
    summary = prepared(FIXTURES / "pelican-tests" / "article_with_markdown_and_summary_metadata_multi.md")
    assert summary["metadata"]["summary"] == "A multi-line summary should be supported as well as **inline markup**."


def test_astro_theme_posts():
    row = prepared(FIXTURES / "astro-theme-cactus" / "webmentions.md")
    metadata = row["metadata"]
    assert metadata["title"] == "Adding Webmentions to Astro Cactus"
    assert metadata["summary"] == "This post describes the process of adding webmentions to your own site"
    assert row["created"] == "2023-10-11"  # publishDate: "11 Oct 2023"
    assert metadata["modified"] == "2024-12-06"  # updatedDate: 6 December 2024
    assert metadata["tags"] == ["webmentions", "astro", "social"]
    assert row["text"].startswith("TLDR\n\n1. Add a link on your homepage")
    assert prepared(FIXTURES / "astro-theme-cactus" / "welcome.md")["created"] == "2024-10-14T11:23:00+00:00"
    assert prepared(FIXTURES / "astro-theme-cactus" / "draft-post.md")["metadata"]["draft"] is True


def test_eleventy_base_blog_post():
    row = prepared(FIXTURES / "eleventy-base-blog" / "firstpost.md")
    assert (row["metadata"]["title"], row["created"]) == ("This is my first post.", "2018-05-01")
    assert row["metadata"]["summary"] == "This is a post on My Blog about agile frameworks."
    assert row["metadata"]["tags"] == ["another tag"]


def test_astro_blog_template_post():
    row = prepared(FIXTURES / "astro-blog-template" / "markdown-style-guide.md")
    assert (row["metadata"]["title"], row["created"]) == ("Markdown Style Guide", "2022-07-01")  # pubDate: 'Jul 01 2022'
    # HTML shown as code ("`<h1>`", a fenced HTML page) does not make the body HTML:
    # it is read as Markdown, its list numbers and its footnote at the end kept.
    paragraphs = row["text"].split("\n\n")
    assert ["1. First item", "2. Second item", "3. Third item"] == paragraphs[paragraphs.index("Ordered List") + 1:][:3]
    assert paragraphs[-1].startswith("The above quote is excerpted from Rob Pike's talk")
