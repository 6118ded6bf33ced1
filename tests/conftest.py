"""Shared fixtures: the project root, the project's own parameter files, small per-cycle tables."""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A fixed pseudonymisation key for tests (real runs create a random one in conf/local/credentials.yml)
TEST_KEY = "cycle-kedro-test-key-not-secret-0123456789abcdef"
#: the venv's ``kedro`` command
KEDRO = Path(sys.executable).with_name("kedro")


def run_kedro(project: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """``kedro <args>`` in ``project`` as a user runs it: text output captured, at most 300 s, any exit code."""
    return subprocess.run(
        [str(KEDRO), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


def load_params(name: str) -> dict:
    """The parameters of ``conf/base/parameters_<name>.yml`` as a dict."""
    return yaml.safe_load((PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())


def copy_project(dest: Path, key: str | None = TEST_KEY) -> Path:
    """A runnable copy of the project at ``dest`` (conf without local, raw data, pyproject).

    The package itself is imported from the installed project, so ``src`` is only created empty.
    ``conf/local/credentials.yml`` holds ``key`` (the fixed test key; ``None``: no file, so the
    first run creates a random key).
    """
    shutil.copytree(PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir()
    if key is not None:
        (dest / "conf" / "local" / "credentials.yml").write_text(
            f"pseudonymisation:\n  hmac_key: {key}\n"
        )
    shutil.copytree(PROJECT_ROOT / "data" / "01_raw", dest / "data" / "01_raw")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "src").mkdir()
    return dest


@contextlib.contextmanager
def in_project_copy(dest: Path):
    """A :func:`copy_project` at ``dest``, bootstrapped and made the working directory.

    Checks that no MLflow run is active on entry; on exit restores the working directory and
    MLflow's tracking URI (the copy's sessions point it at the copy's ``mlflow.db``).
    """
    import mlflow  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    project = copy_project(dest)
    previous_uri = mlflow.get_tracking_uri()
    mp = pytest.MonkeyPatch()
    mp.chdir(project)
    try:
        assert mlflow.active_run() is None, "an earlier test left an MLflow run active"
        bootstrap_project(project)
        yield project
    finally:
        mlflow.set_tracking_uri(previous_uri)
        mp.undo()


def make_cycles(
    n_women: int = 12, n_cycles: int = 10, seed: int = 0, exog: bool = True
) -> pd.DataFrame:
    """Per-cycle table like ``*_model_input``: woman-level means around 29 d, within-woman SD 2 d."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(n_women):
        wid = hashlib.sha256(f"w{w}".encode()).hexdigest()[:12]
        mu = 29 + rng.normal(0, 2)
        age, bmi = rng.uniform(20, 40), rng.uniform(18, 35)
        for t in range(1, n_cycles + 1):
            steps = rng.normal(8000, 1500) if exog else np.nan
            rows.append(
                {
                    "woman_id": wid,
                    "cycle_index": t,
                    "cycle_length": float(round(mu + rng.normal(0, 2))),
                    "age": age,
                    "bmi": bmi,
                    "steps": steps,
                    "e2": rng.normal(120, 20) if exog else np.nan,
                    "p4": rng.normal(8, 2) if exog else np.nan,
                }
            )
    return pd.DataFrame(rows).sort_values(["woman_id", "cycle_index"], ignore_index=True)


@pytest.fixture
def cycles() -> pd.DataFrame:
    return make_cycles()


@pytest.fixture
def fed_like() -> pd.DataFrame:
    """Like FedCycle: no steps/E2/P4, uneven numbers of cycles per woman."""
    df = make_cycles(n_women=14, n_cycles=9, seed=1, exog=False)
    keep = df.groupby("woman_id").cumcount() < df["woman_id"].map(
        {w: 3 + i % 7 for i, w in enumerate(df["woman_id"].unique())}
    )
    return df[keep].reset_index(drop=True)
