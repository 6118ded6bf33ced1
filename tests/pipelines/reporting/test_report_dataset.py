"""ReportDataset: figure references resolved to the newest version (markdown) or embedded (HTML)."""

import base64

from kedro.io import Version

from cycle_kedro.datasets.report import ReportDataset, latest_figure


def _versioned_figure(root, relpath, versions):
    for i, version in enumerate(versions):
        path = root / relpath / version / relpath.split("/")[-1]
        path.parent.mkdir(parents=True)
        path.write_bytes(f"png {i}".encode())


def test_latest_figure_picks_the_newest_version_or_a_plain_file(tmp_path):
    _versioned_figure(
        tmp_path, "stats/a.png", ["2026-01-02T00.00.00.000Z", "2026-01-01T00.00.00.000Z"]
    )
    (tmp_path / "b.png").write_bytes(b"plain")
    assert latest_figure(tmp_path, "stats/a.png").read_bytes() == b"png 0"
    assert latest_figure(tmp_path, "b.png") == tmp_path / "b.png"
    assert latest_figure(tmp_path, "nope.png") is None


def test_markdown_links_are_relative_to_the_report(tmp_path):
    _versioned_figure(tmp_path, "stats/a.png", ["2026-01-01T00.00.00.000Z"])
    dataset = ReportDataset(filepath=str(tmp_path / "report.md"))
    dataset.save("![a](figure:stats/a.png) and ![b](figure:gone.png)")
    assert (
        dataset.load()
        == "![a](stats/a.png/2026-01-01T00.00.00.000Z/a.png) and ![b](missing:gone.png)"
    )


def test_a_versioned_report_links_up_out_of_its_version_folder(tmp_path):
    _versioned_figure(tmp_path, "a.png", ["2026-01-01T00.00.00.000Z"])
    dataset = ReportDataset(
        filepath=str(tmp_path / "report.md"), version=Version(None, "2026-02-02T00.00.00.000Z")
    )
    dataset.save("![a](figure:a.png)")
    saved = tmp_path / "report.md" / "2026-02-02T00.00.00.000Z" / "report.md"
    link = saved.read_text().removeprefix("![a](").removesuffix(")")
    assert (saved.parent / link).resolve().read_bytes() == b"png 0"


def test_html_embeds_the_image(tmp_path):
    image = b"\x89PNG fake"
    (tmp_path / "a.png").write_bytes(image)
    dataset = ReportDataset(filepath=str(tmp_path / "report.html"))
    dataset.save('<img src="figure:a.png">')
    encoded = base64.b64encode(image).decode()
    assert dataset.load() == f'<img src="data:image/png;base64,{encoded}">'
