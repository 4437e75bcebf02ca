"""The shape of the code: stages in their own packages, imports in one direction, small modules.

Every import is counted, at module level or inside a function, under TYPE_CHECKING
or not: a deferred import that closes a cycle is still a cycle for the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for top in ("ingest", "flows") for p in (REPO / top).rglob("*.py"))
# Each part of the code may import only the parts before it in this order. The top-level
# modules of `ingest/` (the sorted arrays, the fault-injection hook, the runner names, the config, the
# record, the workspace) are the ground floor; `flows/` maps the library's stages onto
# Prefect; the command line calls the flows.
LAYERS = ["ingest.arrays", "ingest.faults", "ingest.runners", "ingest.config", "ingest.document", "ingest.workspace", "ingest.read",
          "ingest.clean", "ingest.dedup", "ingest.index", "ingest.write", "ingest.load", "ingest.run", "flows", "ingest.cli"]
MAX_LINES = 400
# A module may pass MAX_LINES when its docstring says why, in a sentence with this phrase.
LONG_MODULE_REASON = "one module because"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The ingest and flows modules that `path` imports (a package's name for `from X import module`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


MODULES = {module_name(p) for p in SOURCES}
GRAPH = {module_name(p): imports_of(p) - {module_name(p)} for p in SOURCES}


def layer_of(module: str) -> int:
    """Where `module` stands in LAYERS; the package `ingest` itself (its version) below them all."""
    return max((i for i, layer in enumerate(LAYERS) if module == layer or module.startswith(layer + ".")), default=-1)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_is_in_a_layer() -> None:
    outside = [m for m in sorted(MODULES) if m not in ("ingest", "flows") and
               not any(m == layer or m.startswith(layer + ".") for layer in LAYERS)]
    assert outside == []


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    assert cycles(GRAPH) == []


def test_each_layer_imports_only_the_layers_before_it() -> None:
    upward = sorted(f"{module} imports {other}" for module, others in GRAPH.items() for other in others
                    if layer_of(other) > layer_of(module))
    assert upward == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_long_module_says_why_it_is_one_module(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines > MAX_LINES:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert LONG_MODULE_REASON in docstring, f"{lines} lines and no reason in its docstring"


PACKAGES = sorted({p.parent for p in SOURCES if p.parent != REPO / "ingest"})


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_package_docstring_lists_its_modules(package: Path) -> None:
    """A newcomer reads the package's docstring for where things are: it lists them all."""
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    listed = {line.split()[0] for line in docstring.splitlines()[1:] if line.split() and line.split()[0].endswith(".py")}
    modules = {p.name for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert listed == modules


# The tests of `ingest/<package>/` live in `tests/ingest/<package>/`, those of a top-level
# module `ingest/<name>.py` in `tests/ingest/test_<name>.py`.
TEST_FILES = sorted((REPO / "tests" / "ingest").rglob("test_*.py"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_test_file_sits_where_the_code_it_tests_sits(path: Path) -> None:
    folder = path.parent.relative_to(REPO / "tests")
    if folder.parts == ("ingest",):
        name = path.stem.removeprefix("test_")
        assert (REPO / "ingest" / f"{name}.py").exists(), f"{path.name}: no module ingest/{name}.py"
    else:
        assert (REPO / folder).is_dir(), f"{path.relative_to(REPO)}: no package {folder}"


def test_every_package_has_tests() -> None:
    untested = [p.name for p in PACKAGES if p.parent == REPO / "ingest"
                and not any((REPO / "tests" / "ingest" / p.name).glob("test_*.py"))]
    assert untested == []
