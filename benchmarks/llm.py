"""Wall time of ``kedro run --pipeline=llm`` per node, for given torch CPU thread counts.

The budget: the whole llm pipeline in under 10 minutes on a 2-core CPU box. Each
setting runs the real pipeline (conf/base, the project's data) in-process through a
``KedroSession`` with a timing hook, so the numbers include loading/saving through the catalog
(but not the ~10 s of ``kedro`` start-up). Every run writes new versions to data/06_models and
data/08_reporting and a new MLflow run.

    .venv/bin/python benchmarks/llm.py                 # runtime.yml's torch threads (2)
    .venv/bin/python benchmarks/llm.py --threads 1 2   # compare; on a box shared with other jobs 2 can be far slower

Columns: one row per node (seconds), ``cpu (process)`` (the process's CPU seconds: on a box shared
with other jobs the wall time is not the pipeline's) and ``total``; then the perplexity, ROUGE-L, Recall and
K-Precision of each system of the run in each setting (out-of-KB, in-KB, dev).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

ROOT = Path(__file__).resolve().parents[1]


class _NodeTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start: dict[str, float] = {}

    def before_node_run(self, node) -> None:
        self._start[node.name] = time.perf_counter()

    def after_node_run(self, node) -> None:
        self.seconds[node.name] = time.perf_counter() - self._start.pop(node.name)


def _run(threads: int | None) -> tuple[dict[str, float], float, dict]:
    timer = _NodeTimer()

    class Hook:
        @hook_impl
        def before_node_run(self, node):
            timer.before_node_run(node)

        @hook_impl
        def after_node_run(self, node):
            timer.after_node_run(node)

        @hook_impl(trylast=True)  # after RuntimeHooks, which set runtime.yml's torch_num_threads
        def before_pipeline_run(self):
            import torch  # noqa: PLC0415

            if threads is not None:
                torch.set_num_threads(threads)

    bootstrap_project(ROOT)
    start = time.perf_counter()
    with KedroSession.create(project_path=ROOT) as session:
        session._hook_manager.register(Hook())  # benchmark only: a private but stable API
        session.run(pipeline_names=["llm"])
        total = time.perf_counter() - start
        timer.seconds["cpu (process)"] = time.process_time()  # all threads; robust to a busy box
        seconds = "\n".join(f"{n:<28}{t:>10.1f}" for n, t in timer.seconds.items())
        sys.stderr.write(f"{seconds}\n{'total':<28}{total:>10.1f}\n")  # before anything can fail
        table = session.load_context().catalog.load("llm.evaluation")
    settings = table["setting"] if "setting" in table else "out_of_kb"
    summary = {
        f"{m}_{r['system']}_{r['setting']}": r[m]
        for r in table.assign(setting=settings).to_dict("records")
        for m in ("perplexity", "rouge_l", "recall", "k_precision")
        if m in r
    }
    return timer.seconds, total, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[None])
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    rows = {}
    for threads in args.threads:
        seconds, total, ppl = _run(threads)
        rows[threads] = {**seconds, "total": total, **ppl}
    names = list(next(iter(rows.values())))
    label = {t: f"threads={t if t is not None else 'conf'}" for t in rows}
    out = [f"{'step':<28}" + "".join(f"{label[t]:>14}" for t in rows)]
    out += [
        f"{n:<28}" + "".join(f"{rows[t].get(n, float('nan')):>14.1f}" for t in rows) for n in names
    ]
    sys.stdout.write(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}\n")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
