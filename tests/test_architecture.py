"""Import rules (STYLE.md rule 12): a pipeline imports only its own modules and the package's library.

Every module is parsed with ``ast`` (nothing is imported), so lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cycle_kedro"
PIPELINES = PACKAGE / "pipelines"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import mod`
    return found


def _pipeline_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["cycle_kedro", "pipelines"] and len(parts) > 2:  # noqa: PLR2004
        return parts[2]
    return None


def _pipeline_modules() -> list[Path]:
    return sorted(p for p in PIPELINES.rglob("*.py") if p.parent != PIPELINES)


def test_the_rule_sees_every_pipeline():
    names = {p.relative_to(PIPELINES).parts[0] for p in _pipeline_modules()}
    assert {"ingestion", "statistics", "forecasting", "llm", "population", "reporting"} <= names


@pytest.mark.parametrize("path", _pipeline_modules(), ids=lambda p: str(p.relative_to(PIPELINES)))
def test_no_pipeline_imports_another_pipeline(path):
    own = path.relative_to(PIPELINES).parts[0]
    foreign = sorted(m for m in _imported_modules(path) if _pipeline_of(m) not in (None, own))
    assert not foreign, f"pipelines/{own} imports another pipeline: {foreign}"


def test_library_imports_no_pipeline():
    for path in sorted((PACKAGE / "cycles").rglob("*.py")):
        pipelines = sorted(
            m for m in _imported_modules(path) if m.startswith("cycle_kedro.pipelines")
        )
        assert not pipelines, f"{path.relative_to(SRC)} imports a pipeline: {pipelines}"


def test_relative_imports_are_resolved():
    population = PIPELINES / "population" / "next_period.py"
    assert "cycle_kedro.pipelines.population.engine" in _imported_modules(population)
