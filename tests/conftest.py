"""Shared fixtures: the project root and the project's own parameter files."""

import os
import shutil
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A fixed pseudonymisation key for tests (real runs create a random one in conf/local/credentials.yml)
TEST_KEY = "cycle-kedro-test-key-not-secret-0123456789abcdef"


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
