"""Compare two `kedro run`s of this project: output tables and MLflow metrics, file by file, key by key.

    python scripts/compare_runs.py BEFORE_DIR AFTER_DIR [--only-after]

Each directory is a project root that holds `data/` and `mlflow.db`. For every table (csv, md, parquet,
json) under `data/02_intermediate` … `data/08_reporting`, the newest version of a versioned dataset
(`x.csv/<timestamp>/x.csv`) is compared: CSV/markdown/JSON byte by byte, parquet as equal DataFrames.
MLflow: for every metric key, the value logged by the newest run holding it. With `--only-after`, files
and keys that exist only in BEFORE (pipelines AFTER did not run) are not reported as missing.
Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import pandas as pd

LAYERS = ("02_intermediate", "03_primary", "04_feature", "05_model_input", "07_model_output", "08_reporting")
SUFFIXES = {".csv", ".md", ".parquet", ".json"}


def tables(root: Path) -> dict[str, Path]:
    """``{relative dataset path: newest file}`` for every table under the layer folders."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        base = root / "data" / layer
        for f in sorted(base.rglob("*")) if base.exists() else []:
            if not f.is_file() or f.suffix not in SUFFIXES:
                continue
            rel = f.relative_to(root / "data")
            parts = rel.parts
            # versioned: <name>/<timestamp>/<name>
            if len(parts) >= 3 and parts[-1] == parts[-3]:
                key = str(Path(*parts[:-2]))
            else:
                key = str(rel)
            if key not in found or f.parent.name > found[key].parent.name:
                found[key] = f
    return found


def same(a: Path, b: Path) -> bool:
    if a.suffix == ".parquet":
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
            return True
        except AssertionError:
            return False
    return a.read_bytes() == b.read_bytes()


def metrics(db: Path) -> dict[str, float]:
    """Newest value of every metric key over all runs of the store."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT m.key, m.value, r.start_time FROM latest_metrics m JOIN runs r ON m.run_uuid = r.run_uuid "
        "ORDER BY r.start_time"
    ).fetchall()
    con.close()
    return {k: v for k, v, _ in rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--only-after", action="store_true", help="ignore what only BEFORE has")
    a = p.parse_args(argv)
    tb, ta = tables(a.before), tables(a.after)
    diff = 0
    n_same = 0
    for key in sorted(set(tb) | set(ta)):
        if key not in ta:
            if not a.only_after:
                print(f"missing after: {key}")
                diff += 1
        elif key not in tb:
            print(f"new after:     {key}")
        elif same(tb[key], ta[key]):
            n_same += 1
        else:
            print(f"DIFFERS:       {key}")
            diff += 1
    mb, ma = metrics(a.before / "mlflow.db"), metrics(a.after / "mlflow.db")
    m_same = 0
    for key in sorted(set(mb) | set(ma)):
        if key not in ma:
            if not a.only_after:
                print(f"metric missing after: {key}")
                diff += 1
        elif key not in mb:
            print(f"metric new after:     {key}")
        elif mb[key] == ma[key]:
            m_same += 1
        else:
            print(f"METRIC DIFFERS: {key}: {mb[key]!r} -> {ma[key]!r}")
            diff += 1
    print(f"{n_same} tables identical, {m_same} MLflow metrics identical, {diff} differences")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
