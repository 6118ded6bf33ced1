"""Check that kedro-viz renders every registered pipeline in a real headless browser.

Steps:
1. ``kedro viz build --include-previews`` writes the static site to ``build/``
   (skip with ``--no-build`` to reuse an existing one).
2. ``build/`` is served over HTTP on 127.0.0.1 and a free port (Chromium refuses the module
   script from ``file://``).
3. Headless Chromium, driven by selenium 4 through ``/usr/bin/chromedriver`` (nothing is
   downloaded), opens ``/?pid=<name>`` for every pipeline listed in ``build/api/main`` and waits
   until the flowchart shows at least one ``g.pipeline-node``.
4. With the feature-tour popup hidden (localStorage ``KedroViz.showFeatureHints = false``) it saves
   a screenshot of the ``__default__`` pipeline to ``data/08_reporting/kedro_viz.png``.

Exit status: 0 when every pipeline rendered, 1 on a rendering failure, 2 when Chromium or
chromedriver is missing (install them with ``scripts/install_chromium.sh``).

Usage: ``.venv/bin/python scripts/viz_browser_check.py [--no-build] [--all-screenshots]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BLOCK_FONTS = "MAP fonts.googleapis.com ~NOTFOUND, MAP fonts.gstatic.com ~NOTFOUND"
PIPELINE_SELECTOR = '[data-test="kedro-pipeline-selector"] button.dropdown__label'

logger = logging.getLogger("viz_browser_check")


class CheckError(RuntimeError):
    """A pipeline did not render (or the build is unusable)."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the HTTP access log out of the check's output."""


def build_viz(project: Path, timeout: float) -> float:
    """Run ``kedro viz build --include-previews`` in ``project``; return the seconds it took."""
    kedro = Path(sys.executable).with_name("kedro")
    cmd = [str(kedro) if kedro.exists() else "kedro", "viz", "build", "--include-previews"]
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    # a stale build must not pass; build/ may hold other outputs (build/airflow), so keep those
    shutil.rmtree(project / "build" / "api", ignore_errors=True)
    (project / "build" / "index.html").unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(  # noqa: PLW1510
        cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = proc.stdout + proc.stderr
    # kedro-viz 12.5 exits 0 after "ERROR: Failed to build/deploy Kedro-Viz : <reason>"
    failed = re.search(r"Failed to build/deploy Kedro-Viz\s*:\s*(.*)", output)
    if proc.returncode != 0 or failed or not (project / "build" / "index.html").exists():
        reason = failed.group(1).strip() if failed else output[-3000:]
        raise CheckError(f"`kedro viz build` failed (exit {proc.returncode}): {reason}")
    return time.perf_counter() - start


def registered_pipelines(build_dir: Path) -> list[str]:
    """Pipeline ids listed by the static build's ``api/main`` response."""
    main = build_dir / "api" / "main"
    if not main.exists():
        raise CheckError(f"{main} is missing: the kedro-viz build is incomplete")
    pipelines = [p["id"] for p in json.loads(main.read_text())["pipelines"]]
    if not pipelines:
        raise CheckError(f"{main} lists no pipelines")
    return pipelines


def expected_node_count(build_dir: Path, pipeline: str) -> int:
    """Number of nodes the build's API holds for ``pipeline`` (0 means an empty pipeline)."""
    path = build_dir / "api" / "pipelines" / pipeline
    if not path.exists():
        raise CheckError(f"{path} is missing: the kedro-viz build is incomplete")
    return len(json.loads(path.read_text()).get("nodes", []))


def layer_problems(build_dir: Path, pipeline: str) -> list[str]:
    """Why kedro-viz shows no layer bands for ``pipeline``: pairs of layers that feed each other.

    kedro-viz orders layers topologically; when a node reads a dataset of layer B and writes one
    of layer A while another node does the reverse, it drops every band of that pipeline.
    """
    api = json.loads((build_dir / "api" / "pipelines" / pipeline).read_text())
    nodes = {n["id"]: n for n in api["nodes"]}
    if api.get("layers") or not any(n.get("layer") for n in nodes.values()):
        return []
    sources, targets = defaultdict(list), defaultdict(list)
    for edge in api["edges"]:
        sources[edge["target"]].append(edge["source"])
        targets[edge["source"]].append(edge["target"])
    links: dict[tuple[str, str], str] = {}
    for nid, node in nodes.items():
        for src in sources[nid] if node["type"] not in ("data", "parameters") else []:
            for dst in targets[nid]:
                a, b = nodes.get(src, {}).get("layer"), nodes.get(dst, {}).get("layer")
                if a and b and a != b:
                    links.setdefault(
                        (a, b), f"{nodes[src]['name']} -> [{node['name']}] -> {nodes[dst]['name']}"
                    )
    cycles = [f"{a} -> {b} ({links[a, b]}) and {b} -> {a} ({links[b, a]})"
              for a, b in links if (b, a) in links and a < b]  # fmt: skip
    return cycles or ["kedro-viz computed no layer order"]


def preview_counts(build_dir: Path) -> dict[str, int]:
    """How many datasets carry each kind of preview (tables, images, JSON) in the build."""
    counts: dict[str, int] = defaultdict(int)
    for path in (build_dir / "api" / "nodes").glob("*"):
        kind = json.loads(path.read_text()).get("preview_type")
        if kind:
            counts[kind] += 1
    return dict(counts)


@functools.cache
def _server_for(directory: str) -> ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def make_driver(window: str = "1600,1000"):
    """Headless Chromium driven through the Debian chromedriver (no selenium-manager download)."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="viz-chromium-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={window}",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={BLOCK_FONTS}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver._viz_profile = profile  # removed in close_driver
    return driver


def close_driver(driver) -> None:
    """Quit Chromium and remove its temporary profile."""
    profile = getattr(driver, "_viz_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def hide_feature_hints(driver, url: str, timeout: float) -> None:
    """Store ``showFeatureHints: false`` in kedro-viz's localStorage so the tour popup stays closed.

    The app writes its whole state to localStorage while it starts, so the flag is set only once
    the flowchart is up (otherwise the app overwrites it); later page loads then read it.
    """
    wait_for_pipeline(driver, url, "__default__", timeout, check_selected=False)
    driver.execute_script(
        "const s = JSON.parse(localStorage.getItem('KedroViz') || '{}');"
        "s.showFeatureHints = false;"
        "localStorage.setItem('KedroViz', JSON.stringify(s));"
    )


def _shows(driver, pipeline: str) -> bool:
    """True once the pipeline selector names ``pipeline`` (a loaded page may still show the last one)."""
    found = driver.find_elements(By.CSS_SELECTOR, PIPELINE_SELECTOR)
    text = found[0].text.strip().lower().replace(" ", "_") if found else ""
    return not text or pipeline.strip("_").lower() in text


def _load_with_retry(driver, url: str, pipeline: str, timeout: float) -> dict:
    """``wait_for_pipeline`` in two halves of ``timeout``: under load the app can keep the previous pipeline."""
    try:
        return wait_for_pipeline(driver, url, pipeline, timeout / 2)
    except CheckError:
        logger.info("retry %s", pipeline)
        return wait_for_pipeline(driver, url, pipeline, timeout / 2)


def wait_for_pipeline(
    driver, url: str, pipeline: str, timeout: float, check_selected: bool = True
) -> dict:
    """Load ``url`` and wait until the flowchart shows nodes; return what was rendered."""
    driver.get(url)
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "g.pipeline-node")
            and (not check_selected or _shows(d, pipeline))
        )
    except TimeoutException as exc:
        raise CheckError(
            f"pipeline '{pipeline}' rendered no g.pipeline-node within {timeout:.0f} s at {url}"
        ) from exc
    time.sleep(0.5)  # let the layout settle before counting and screenshots
    info = driver.execute_script(
        "const q = s => document.querySelectorAll(s);"
        "const sel = document.querySelector(arguments[0]);"
        "return {nodes: q('g.pipeline-node').length,"
        " tasks: q('g.pipeline-node--task').length,"
        " data: q('g.pipeline-node--data').length,"
        " edges: q('g.pipeline-edge').length,"
        " layers: Array.from(q('.pipeline-layer-name')).map(e => e.textContent.trim()),"
        " selected: sel ? sel.textContent.trim() : null,"
        " labels: Array.from(q('text.pipeline-node__text')).map(e => e.textContent.trim())};",
        PIPELINE_SELECTOR,
    )
    selected = (info["selected"] or "").lower().replace(" ", "_")
    if check_selected and info["selected"] and pipeline.strip("_").lower() not in selected:
        raise CheckError(f"?pid={pipeline} selected pipeline {info['selected']!r} instead")
    return info


def check(args: argparse.Namespace) -> int:
    """Run the whole check; return the process exit status."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        logger.error("missing %s: run scripts/install_chromium.sh", ", ".join(missing))
        return 2
    project = Path(args.project).resolve()
    build_dir = project / "build"
    if not args.no_build:
        logger.info("kedro viz build --include-previews: %.1f s", build_viz(project, args.timeout))
    pipelines = args.pipelines or registered_pipelines(build_dir)
    logger.info(
        "dataset previews in the build (datasets on disk only): %s", preview_counts(build_dir)
    )
    server = _server_for(str(build_dir))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    driver = make_driver()
    failures: list[str] = []
    try:
        hide_feature_hints(driver, base, args.timeout)
        for pipeline in pipelines:
            start = time.perf_counter()
            url = f"{base}?pid={quote(pipeline)}"
            try:
                if expected_node_count(build_dir, pipeline) == 0:
                    raise CheckError(f"pipeline '{pipeline}' has no nodes in the kedro-viz build")
                info = _load_with_retry(driver, url, pipeline, args.timeout)
            except CheckError as exc:
                failures.append(str(exc))
                logger.error("FAIL %s", exc)
                continue
            logger.info(
                "ok   %-14s %3d nodes (%d tasks, %d data) %3d edges, layers %s, selector %r, %.1f s",
                pipeline, info["nodes"], info["tasks"], info["data"], info["edges"],
                info["layers"], info["selected"], time.perf_counter() - start,
            )  # fmt: skip
            for problem in layer_problems(build_dir, pipeline):
                logger.warning("WARN %-14s no layer bands: %s", pipeline, problem)
            if args.all_screenshots:
                shot = Path(args.screenshot).with_name(f"kedro_viz_{pipeline.strip('_')}.png")
                driver.save_screenshot(str(shot))
        shot_pid = "__default__" if "__default__" in pipelines else pipelines[0]
        if not failures:
            driver.set_window_size(2400, 1500)  # the whole study is wide: more pixels, larger zoom
            wait_for_pipeline(driver, f"{base}?pid={quote(shot_pid)}", shot_pid, args.timeout)
            time.sleep(1.0)  # the popup, when it comes, fades in about a second after load
            if any(
                h.is_displayed() for h in driver.find_elements(By.CSS_SELECTOR, ".feature-hints")
            ):
                logger.warning("the feature-tour popup is still visible in the screenshot")
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.screenshot))
            logger.info("screenshot of '%s': %s", shot_pid, args.screenshot)
    finally:
        close_driver(driver)
        server.shutdown()
    if failures:
        logger.error("%d of %d pipelines did not render:", len(failures), len(pipelines))
        for failure in failures:
            logger.error("  - %s", failure)
        return 1
    logger.info("all %d pipelines rendered: %s", len(pipelines), ", ".join(pipelines))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=str(ROOT), help="Kedro project root")
    parser.add_argument("--no-build", action="store_true", help="reuse the existing build/")
    parser.add_argument(
        "--screenshot",
        default=str(ROOT / "data" / "08_reporting" / "kedro_viz.png"),
        help="where to save the screenshot of the __default__ pipeline",
    )
    parser.add_argument(
        "--all-screenshots", action="store_true", help="also save kedro_viz_<pipeline>.png"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    parser.add_argument("pipelines", nargs="*", help="pipeline ids (default: all registered)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    try:
        return check(args)
    except CheckError as exc:
        logger.error("viz browser check failed: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
