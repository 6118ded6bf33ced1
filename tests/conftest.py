"""Shared fixtures: the project root and the project's own parameter files."""

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


def load_params(name: str) -> dict:
    """The parameters of ``conf/base/parameters_<name>.yml`` as a dict."""
    return yaml.safe_load((PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())
