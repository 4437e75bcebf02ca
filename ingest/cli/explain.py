"""`ingest explain`: what cleaning does to one input file, every cut labelled by its rule."""

from __future__ import annotations

import sys

import click

from ingest.cli.common import EXIT_USAGE, fail


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file merged over the defaults (config/default.toml).")
@click.option("--color/--no-color", default=None, help="Colour the cuts (default: when stdout is a terminal).")
def explain(path: str, config_path: str | None, color: bool | None) -> None:
    """Show what cleaning does to one input file: every cut, labelled by its rule.

    Cuts are listed with their line and rule, then the text is shown with each cut
    marked as [-removed text-]{rule}. Learned boilerplate needs a whole run's documents,
    so it is not shown here (see cleaning.removed in the run's output).
    """
    from ingest.config import ConfigError, load_config
    from ingest.document import Reject
    from ingest.run.explain import explain_file

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE, False)
    styled = sys.stdout.isatty() if color is None else color
    for item in explain_file(path, config):
        if isinstance(item, Reject):
            click.echo(f"== {item.source}: rejected ({item.error}): {item.reason}")
            continue
        click.echo(render_explanation(item, styled))


def render_explanation(item, styled: bool) -> str:
    """The cuts of one record as a list and as marks in the text."""
    text, removals = item.text, item.result.removals
    lines = [f"== {item.source}"]
    repairs = ", ".join(f"{r['rule']} x{r.get('count', 1)}" for r in item.repairs) or "none"
    lines.append(f"encoding repairs: {repairs}")
    lines.append(f"cuts: {len(removals)}")
    for r in removals:
        line_no = text.count("\n", 0, r.start) + 1
        target = f" -> {r.moved_to}" if r.moved_to else ""
        lines.append(f"  line {line_no:>4}  {r.rule:<18}{target:<14} {r.text.strip()!r}")
    if item.result.fields:
        lines.append("fields: " + ", ".join(f"{k}={v!r}" for k, v in item.result.fields.items()))
    lines.append("-- text with cuts marked --")
    marked, pos = [], 0
    for r in removals:
        marked.append(text[pos : r.start])
        cut = f"[-{r.text}-]{{{r.rule}}}"
        marked.append(click.style(cut, fg="red", strike=True) if styled else cut)
        pos = r.end
    marked.append(text[pos:])
    lines.append("".join(marked))
    return "\n".join(lines)
