"""Load time, answer latency and peak memory of the served assistant (``mlflow models serve``).

Starts MLflow's own server on the registered model (``models:/cycle_assistant/latest`` of the
project's ``mlflow.db`` unless told otherwise) on a free port of 127.0.0.1, one worker, and asks it
20 women's-health questions one after the other, each its own ``POST /invocations`` (request
timeout 600 s instead of MLflow's 60: a long answer on a busy box takes longer):

    .venv/bin/python benchmarks/serving_assistant.py                    # default system (lora_rag)
    .venv/bin/python benchmarks/serving_assistant.py --system base_rag
    .venv/bin/python benchmarks/serving_assistant.py --compare 10       # and check 10 against cycle-ask
    .venv/bin/python benchmarks/serving_assistant.py --tracking-uri sqlite:////tmp/x/mlflow.db

Columns: ``load_s`` (server start until ``/ping`` answers: Python and MLflow start-up plus
``load_context``, which reads every artifact and builds the default system's model: a LoRA
system's is a merged copy of the base model), ``median_s`` / ``p95_s`` / ``max_s`` (seconds per answer over the questions, HTTP
included), ``peak_rss_mb`` (the server process's peak resident memory, ``VmHWM``, read before it is
stopped). ``--compare N`` then answers the first N questions with ``cycle-ask --json`` in this
process (through the project's catalog: needs the ``llm`` datasets of the run that registered the
model in ``data/``) and counts those whose answer, sources and flags equal the served ones.
Not a timed test: the numbers depend on the box (cores, other load).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "What is endometriosis?",
    "What are the symptoms of menopause?",
    "What causes heavy menstrual bleeding?",
    "How is polycystic ovary syndrome treated?",
    "What is a normal length for a menstrual cycle?",
    "Who is at risk for osteoporosis?",
    "What are the symptoms of preeclampsia?",
    "How is endometrial cancer diagnosed?",
    "What is premenstrual syndrome?",
    "Can uterine fibroids be prevented?",
    "What are the treatments for vaginal yeast infections?",
    "What is the outlook for ovarian cancer?",
    "What causes missed periods?",
    "How is breast cancer detected early?",
    "What is pelvic inflammatory disease?",
    "What are hot flashes?",
    "What are the signs of an ectopic pregnancy?",
    "How can I ease period cramps?",
    "What is primary ovarian insufficiency?",
    "What tests check for cervical cancer?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(base: str, question: str, system: str | None) -> dict:
    row = {"question": question, **({"system": system} if system else {})}
    body = json.dumps({"dataframe_records": [row]}).encode()
    req = urllib.request.Request(
        f"{base}/invocations", body, {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())["predictions"][0]


def _peak_rss_mb(pgid: int) -> float:
    """The largest ``VmHWM`` of the processes in the server's process group (MB)."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            if os.getpgid(int(status.parent.name)) != pgid:
                continue
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]))
    return peak / 1024


def _serve(model_uri: str, tracking_uri: str, log: Path) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_REGISTRY_URI": tracking_uri}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
    cmd += [
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--timeout",
        "600",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{base}/ping", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base, time.perf_counter() - start
        if proc.poll() is not None:
            raise SystemExit(f"mlflow models serve stopped:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


def _cycle_ask(question: str, system: str) -> dict:
    from cycle_kedro.ask import main  # noqa: PLC0415

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--json", "--system", system, "--project", str(ROOT), question])
    if code != 0:
        raise SystemExit(f"cycle-ask failed on {question!r}")
    return json.loads(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", default="models:/cycle_assistant/latest")
    parser.add_argument("--tracking-uri", default=f"sqlite:///{ROOT / 'mlflow.db'}")
    parser.add_argument("--system", default=None, help="default: the model's default_system")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--compare", type=int, default=0, metavar="N")
    parser.add_argument(
        "--answers", type=Path, default=None, help="write the answers and seconds (JSON Lines)"
    )
    args = parser.parse_args()
    questions = QUESTIONS[: args.questions]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "serving_assistant.log"
    proc, base, load_s = _serve(args.model_uri, args.tracking_uri, log)
    try:
        seconds, answers = [], []
        for question in questions:
            start = time.perf_counter()
            answers.append(_ask(base, question, args.system))
            seconds.append(time.perf_counter() - start)
        peak = _peak_rss_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    if args.answers:
        lines = [
            json.dumps({"question": q, "seconds": round(t, 2), **a})
            for q, t, a in zip(questions, seconds, answers, strict=True)
        ]
        args.answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1]
    system = answers[0]["system"]
    sys.stdout.write(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}\n")
    sys.stdout.write(
        "| model | system | questions | load_s | median_s | p95_s | max_s | peak_rss_mb |\n"
    )
    sys.stdout.write("|---|---|---:|---:|---:|---:|---:|---:|\n")
    sys.stdout.write(
        f"| {args.model_uri} | {system} | {len(questions)} | {load_s:.1f} | "
        f"{statistics.median(seconds):.2f} | {p95:.2f} | {max(seconds):.2f} | {peak:.0f} |\n"
    )
    if args.compare:
        keys = ("answer", "sources", "flags")
        same = [
            {k: a[k] for k in keys} == {k: c[k] for k in keys}
            for a, c in (
                (a, _cycle_ask(q, a["system"]))
                for q, a in zip(questions[: args.compare], answers, strict=False)
            )
        ]
        sys.stdout.write(f"equal to cycle-ask --json: {sum(same)} of {len(same)}\n")


if __name__ == "__main__":
    main()
