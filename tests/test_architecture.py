"""Import and layout rules (STYLE.md rules 12, 16, 17), checked on the source with ``ast``.

Nothing is imported: every module is parsed, so lazy imports inside functions count too. The
package has four kinds of module:

* pipelines (``pipelines/<name>/``) import their own modules and the libraries, never another pipeline;
* libraries (:data:`LIBRARIES`) import only libraries; those in :data:`KEDRO_FREE` import no Kedro;
* datasets (``datasets/``) and entry points (:data:`ENTRY_POINTS`) import libraries, never a pipeline;
* the project's Kedro wiring (registry, settings, hooks, error hook) is not restricted.

The whole package's module import graph has no cycle. Every rule is parametrised per module (or
per pipeline folder), so a failure names the module.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cycle_kedro"
PIPELINES = PACKAGE / "pipelines"

#: the package's libraries: plain functions, classes and contracts shared by pipelines, datasets, CLI
LIBRARIES = (
    "cycle_kedro.cycles",
    "cycle_kedro.assistant",
    "cycle_kedro.validation",
    "cycle_kedro.schemas",
    "cycle_kedro.pseudonyms",
    "cycle_kedro.tables",
    "cycle_kedro.cohorts",
)
#: libraries with no Kedro in them (validation is not: its error is a Kedro ``DatasetError``)
KEDRO_FREE = tuple(lib for lib in LIBRARIES if lib != "cycle_kedro.validation")
ENTRY_POINTS = ("cycle_kedro.ask", "cycle_kedro.__main__")
DATASETS = "cycle_kedro.datasets"
KEDRO_DISTRIBUTIONS = ("kedro", "kedro_datasets", "kedro_mlflow", "kedro_viz")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULE_PATHS = sorted(PACKAGE.rglob("*.py"))
MODULES = {_module_name(p): p for p in MODULE_PATHS}


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _within(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def _parse_imports(source: str, package: str) -> list[tuple[ast.stmt, str, tuple[str, ...]]]:
    """Each import in ``source`` (lazy ones too): (statement, absolute module, imported names).

    ``package`` is the package relative imports start from (the module's own for ``__init__``).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node, module, tuple(alias.name for alias in node.names)))
    return found


@cache
def _imports(path: Path) -> tuple[tuple[ast.stmt, str, tuple[str, ...]], ...]:
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    return tuple(_parse_imports(path.read_text(encoding="utf-8"), package))


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved (``from pkg import mod`` gives both)."""
    found: set[str] = set()
    for _, module, names in _imports(path):
        found.add(module)
        found.update(f"{module}.{name}" for name in names)
    return found


def _package_imports(path: Path) -> set[str]:
    """The modules of this package that ``path`` imports: ``from pkg import mod`` -> ``pkg.mod``."""
    found: set[str] = set()
    for _, module, names in _imports(path):
        submodules = {f"{module}.{name}" for name in names} & MODULES.keys()
        if submodules:
            found |= submodules
        if module in MODULES and (not names or len(submodules) < len(names)):
            found.add(module)
    return found


def _pipeline_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["cycle_kedro", "pipelines"] and len(parts) > 2:  # noqa: PLR2004
        return parts[2]
    return None


def _pipeline_modules() -> list[Path]:
    return sorted(p for p in PIPELINES.rglob("*.py") if p.parent != PIPELINES)


def _modules_of(prefixes: tuple[str, ...] | str) -> list[Path]:
    return [path for name, path in MODULES.items() if _within(name, prefixes)]


# --------------------------------------------------------------------------- the rules see everything
def test_the_rules_see_every_pipeline_and_library():
    names = {p.relative_to(PIPELINES).parts[0] for p in _pipeline_modules()}
    assert {"ingestion", "statistics", "forecasting", "llm", "population", "reporting"} <= names
    missing = [lib for lib in LIBRARIES if not _modules_of(lib)]
    assert not missing, f"no module found for the libraries {missing}"
    assert _modules_of(DATASETS) and all(e in MODULES for e in ENTRY_POINTS)


def test_relative_imports_are_resolved():
    ingestion = _imported_modules(PIPELINES / "ingestion" / "pipeline.py")
    assert "cycle_kedro.pipelines.ingestion.fedcycle" in ingestion
    plausibility = _package_imports(PACKAGE / "validation" / "plausibility.py")
    assert plausibility == {
        "cycle_kedro.validation",  # from . import DataValidationError (the package)
        "cycle_kedro.validation.file_lines",
        "cycle_kedro.validation.messages",
    }
    lazy = _parse_imports("def f():\n    from . import a as b\n", "cycle_kedro.x")
    assert [(module, names) for _, module, names in lazy] == [("cycle_kedro.x", ("a",))]


# --------------------------------------------------------------------------- who may import what
@pytest.mark.parametrize("path", _pipeline_modules(), ids=_id)
def test_no_pipeline_imports_another_pipeline(path):
    own = path.relative_to(PIPELINES).parts[0]
    foreign = sorted(m for m in _imported_modules(path) if _pipeline_of(m) not in (None, own))
    assert not foreign, f"pipelines/{own} imports another pipeline: {foreign}"


@pytest.mark.parametrize("path", _modules_of(LIBRARIES), ids=_id)
def test_a_library_imports_only_libraries(path):
    others = sorted(
        m for m in _package_imports(path) if m != "cycle_kedro" and not _within(m, LIBRARIES)
    )
    assert not others, f"{_id(path)} (a library) imports {others}"


@pytest.mark.parametrize("path", _modules_of(KEDRO_FREE), ids=_id)
def test_a_kedro_free_library_imports_no_kedro(path):
    kedro = sorted(m for _, m, _ in _imports(path) if m.split(".")[0] in KEDRO_DISTRIBUTIONS)
    assert not kedro, f"{_id(path)} (a library without Kedro) imports {kedro}"


@pytest.mark.parametrize("path", _modules_of((DATASETS, *ENTRY_POINTS)), ids=_id)
def test_datasets_and_entry_points_import_no_pipeline(path):
    pipelines = sorted(m for m in _package_imports(path) if _within(m, "cycle_kedro.pipelines"))
    assert not pipelines, f"{_id(path)} imports a pipeline (use a library): {pipelines}"


# --------------------------------------------------------------------------- module hygiene
@pytest.mark.parametrize("path", MODULE_PATHS, ids=_id)
def test_no_single_letter_import_alias(path):
    statements = {id(node): node for node, _, _ in _imports(path)}.values()
    short = sorted(
        f"{alias.name} as {alias.asname}"
        for node in statements
        for alias in node.names
        if alias.asname and len(alias.asname) == 1
    )
    assert not short, f"{_id(path)}: name the import instead of {short}"


def _cycles_in(graph: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    """Node -> its strongly connected component (Tarjan), for components of two or more nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: dict[str, frozenset[str]] = {}

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.update(dict.fromkeys(component, frozenset(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@cache
def _package_cycles() -> dict[str, frozenset[str]]:
    return _cycles_in({name: _package_imports(path) - {name} for name, path in MODULES.items()})


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles_in(graph) == dict.fromkeys("abc", frozenset("abc"))


@pytest.mark.parametrize("path", MODULE_PATHS, ids=_id)
def test_no_module_import_cycle(path):
    cycle = _package_cycles().get(_module_name(path))
    assert cycle is None, f"{_id(path)} is on an import cycle: {sorted(cycle)}"


CONTRACTS = ("cycle_kedro.schemas", "cycle_kedro.cycles.contracts")


@pytest.mark.parametrize("path", MODULE_PATHS, ids=_id)
def test_data_contracts_live_in_schemas_and_cycles_contracts(path):
    if _module_name(path) in CONTRACTS:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built = sorted(
        f"line {n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and (getattr(n.func, "id", None) or getattr(n.func, "attr", None)) == "DataFrameSchema"
    )
    assert not built, f"{_id(path)} builds a pandera schema ({built}): declare it in {CONTRACTS}"


# --------------------------------------------------------------------------- one way to write a pipeline
@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*/pipeline.py")), ids=_id)
def test_pipeline_builds_nodes_with_keyword_arguments_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        if name == "node":
            bad.append(f"line {call.lineno}: node(...) instead of Node(...)")
        elif name == "Node" and call.args:
            bad.append(f"line {call.lineno}: Node(...) with positional arguments")
    assert not bad, f"{_id(path)}: {bad}"


@pytest.mark.parametrize(
    "folder", sorted(p.parent for p in PIPELINES.glob("*/__init__.py")), ids=_id
)
def test_no_nodes_module_that_only_re_exports(folder):
    nodes = folder / "nodes.py"
    if not nodes.exists():
        return
    tree = ast.parse(nodes.read_text(encoding="utf-8"))
    defines = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    assert defines, f"{_id(nodes)} only re-exports: import the node modules by concern instead"
