"""Audit what a reviewer reads in kedro-viz: node names and docstrings, dataset descriptions and layers.

For every node of every registered pipeline: an explicit name (not Kedro's default
``func([inputs]) -> [outputs]``) and a one-line docstring. For every dataset: a catalog entry
(otherwise it is an in-memory intermediate, shown without layer or description), a
``metadata: description``, a ``metadata: kedro-viz: layer`` and, for tables, ``preview_args``.

Usage: ``.venv/bin/python scripts/viz_audit.py [--strict]`` (``--strict`` exits 1 on any finding).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

from kedro.framework.project import pipelines  # noqa: E402
from kedro.framework.session import KedroSession  # noqa: E402
from kedro.framework.startup import bootstrap_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLE_TYPES = ("CSVDataset", "ParquetDataset", "ExcelDataset")
logger = logging.getLogger("viz_audit")


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def audit_nodes(all_nodes) -> list[str]:
    """Nodes with a default name or no docstring."""
    findings = []
    for node in sorted(all_nodes, key=lambda n: n.name):
        func = getattr(node.func, "__wrapped__", node.func)
        if "(" in node.name:
            findings.append(f"node `{node.name}`: no explicit name=")
        if not _first_line(func.__doc__):
            findings.append(f"node `{node.name}` ({func.__module__}.{func.__name__}): no docstring")
    return findings


def audit_datasets(raw: dict, resolver, names: set[str]) -> tuple[list[str], list[str]]:
    """(findings for catalog datasets, names of in-memory datasets without a catalog entry).

    Reads the catalog *configuration* (``raw``), not the instantiated datasets: kedro-mlflow's
    hook rebuilds metric datasets without their metadata, but kedro-viz shows the configuration.
    """
    findings, in_memory = [], []
    for name in sorted(names):
        key = name if name in raw else resolver.match_dataset_pattern(name)
        config = raw.get(key) if key else None
        if not config:
            in_memory.append(name)
            continue
        metadata = config.get("metadata") or {}
        viz = metadata.get("kedro-viz") or {}
        kind = str(config.get("type", "")).rsplit(".", 1)[-1]
        inner = (
            str((config.get("dataset") or {}).get("type", ""))
            if isinstance(config.get("dataset"), dict)
            else ""
        )
        if not metadata.get("description"):
            findings.append(f"dataset `{name}` ({kind}): no metadata.description")
        if not viz.get("layer"):
            findings.append(f"dataset `{name}` ({kind}): no kedro-viz layer")
        if any(t in kind or t in inner for t in TABLE_TYPES) and "preview_args" not in viz:
            findings.append(
                f"dataset `{name}` ({kind} {inner}): table without kedro-viz preview_args"
            )
    return findings, in_memory


def main(argv: list[str] | None = None) -> int:
    """Print the findings as a markdown list; exit 1 with ``--strict`` when there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are findings")
    parser.add_argument("--output", help="write the markdown here instead of stdout")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        context = session.load_context()
        raw = context.config_loader["catalog"]
        resolver = context.catalog.config_resolver
        all_nodes = {n for name, p in pipelines.items() for n in p.nodes}
        names = {
            d for name, p in pipelines.items() for d in p.datasets() if not d.startswith("params:")
        }
        names.discard("parameters")
        node_findings = audit_nodes(all_nodes)
        data_findings, in_memory = audit_datasets(raw, resolver, names)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    out.write(f"# kedro-viz audit: {len(all_nodes)} nodes, {len(names)} datasets\n\n")
    for title, items in (("Nodes", node_findings), ("Datasets", data_findings)):
        out.write(
            f"## {title}: {len(items)} findings\n\n" + "".join(f"- {i}\n" for i in items) + "\n"
        )
    out.write(
        f"## In-memory datasets (no catalog entry, no description in kedro-viz): {len(in_memory)}\n\n"
    )
    out.write("".join(f"- `{n}`\n" for n in in_memory) + "\n")
    if args.output:
        out.close()
    return 1 if args.strict and (node_findings or data_findings) else 0


if __name__ == "__main__":
    sys.exit(main())
