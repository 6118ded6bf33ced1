"""ReportDataset writes figures beside a markdown report or embeds them in HTML; ImageDataset loads them."""

import base64

import pytest
from kedro.io import DatasetError, Version

from cycle_kedro.datasets.report import ImageDataset, ReportDataset


def _versioned_figure(root, relpath, versions):
    for i, version in enumerate(versions):
        path = root / relpath / version / relpath.split("/")[-1]
        path.parent.mkdir(parents=True)
        path.write_bytes(f"png {i}".encode())


def test_image_dataset_loads_the_newest_version_or_a_plain_file(tmp_path):
    _versioned_figure(
        tmp_path, "stats/a.png", ["2026-01-02T00.00.00.000Z", "2026-01-01T00.00.00.000Z"]
    )
    (tmp_path / "b.png").write_bytes(b"plain")
    assert ImageDataset(str(tmp_path / "stats/a.png"), version=Version(None, None)).load() == b"png 0"
    assert ImageDataset(str(tmp_path / "b.png")).load() == b"plain"


def test_a_missing_figure_fails_unless_it_is_optional(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        ImageDataset(str(tmp_path / "nope.png"), version=Version(None, None)).load()
    with pytest.raises(DatasetError, match="does not exist"):
        ImageDataset(str(tmp_path / "nope.png")).load()
    assert ImageDataset(str(tmp_path / "nope.png"), optional=True).load() is None


def test_markdown_figures_are_written_beside_the_report_and_linked(tmp_path):
    dataset = ReportDataset(filepath=str(tmp_path / "report.md"))
    dataset.save({"text": "![a](figure:a) and ![b](figure:gone)", "figures": {"a": b"png a", "gone": None}})
    assert dataset.load() == "![a](report_figures/a.png) and ![b](missing:gone)"
    assert (tmp_path / "report_figures" / "a.png").read_bytes() == b"png a"


def test_a_versioned_report_keeps_its_figures_in_its_version_folder(tmp_path):
    dataset = ReportDataset(
        filepath=str(tmp_path / "report.md"), version=Version(None, "2026-02-02T00.00.00.000Z")
    )
    dataset.save({"text": "![a](figure:a)", "figures": {"a": b"png 0"}})
    saved = tmp_path / "report.md" / "2026-02-02T00.00.00.000Z" / "report.md"
    link = saved.read_text().removeprefix("![a](").removesuffix(")")
    assert (saved.parent / link).resolve().read_bytes() == b"png 0"


def test_html_embeds_the_image(tmp_path):
    image = b"\x89PNG fake"
    dataset = ReportDataset(filepath=str(tmp_path / "report.html"))
    dataset.save({"text": '<img src="figure:a">', "figures": {"a": image}})
    encoded = base64.b64encode(image).decode()
    assert dataset.load() == f'<img src="data:image/png;base64,{encoded}">'
    assert not (tmp_path / "report_figures").exists()
