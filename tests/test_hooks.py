"""RuntimeHooks: runtime resources come from conf runtime.yml, not from nodes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from cycle_kedro.hooks import RuntimeHooks, close_dask_client, start_dask_client

PROJECT = Path(__file__).resolve().parents[1]


def test_runtime_config_is_read_and_applied(monkeypatch):
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        context = session.load_context()
        runtime = context.config_loader["runtime"]
    assert runtime["torch_num_threads"] == 2
    assert runtime["dask"] is None
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    import matplotlib  # noqa: PLC0415

    assert matplotlib.get_backend().lower() == "agg"


def test_dask_env_configures_a_client():
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT, env="dask") as session:
        runtime = session.load_context().config_loader["runtime"]
    assert runtime["dask"]["n_workers"] == 2
    assert runtime["dask"]["scheduler_address"] is None  # unset DASK_SCHEDULER_ADDRESS: a LocalCluster
    assert runtime["torch_num_threads"] == 2  # soft merge keeps base keys


def test_hook_sets_torch_threads_and_closes_the_dask_client():
    torch = pytest.importorskip("torch")
    hooks = RuntimeHooks()
    hooks.config = {"torch_num_threads": 1, "dask": {"processes": False, "n_workers": 1}}
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        hooks.before_pipeline_run()
        assert torch.get_num_threads() == 1
        client = hooks._client
        assert client.status == "running"
        hooks.on_pipeline_error()
        assert hooks._client is None
        assert client.status == "closed"
    finally:
        torch.set_num_threads(before)


def test_local_cluster_is_closed_with_its_client():
    client = start_dask_client({"processes": False, "n_workers": 1})
    cluster = client.cluster
    close_dask_client(client)
    assert cluster.status.name == "closed"


def test_dask_scheduler_address_comes_from_the_shell(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://scheduler:8786")
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT, env="dask") as session:
        runtime = session.load_context().config_loader["runtime"]
    assert runtime["dask"]["scheduler_address"] == "tcp://scheduler:8786"
