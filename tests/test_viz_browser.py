"""kedro-viz renders every registered pipeline in headless Chromium (scripts/viz_browser_check.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STUDY_PIPELINES = (
    "__default__",
    "ingestion",
    "statistics",
    "forecasting",
    "llm",
    "population",
    "reporting",
)


@pytest.mark.slow
def test_every_pipeline_renders_in_headless_chromium():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not installed: run scripts/install_chromium.sh "
            "(Debian packages chromium, chromium-driver) to run the kedro-viz browser check"
        )
    screenshot = ROOT / "data" / "08_reporting" / "kedro_viz.png"
    screenshot.unlink(missing_ok=True)

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "viz_browser_check.py"), "--timeout", "45"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"kedro-viz browser check failed:\n{output[-4000:]}"
    assert "pipelines rendered" in output
    for pipeline in STUDY_PIPELINES:  # the "four pipelines" and the rest of the study
        assert f"ok   {pipeline} " in output, f"{pipeline} was not checked:\n{output[-2000:]}"
    assert screenshot.read_bytes()[:8] == PNG_MAGIC
    assert screenshot.stat().st_size > 20_000  # a blank page compresses to a few kB
