"""Report and figure datasets: the reporting pipeline gets every figure as a catalog input.

:class:`ImageDataset` loads a figure file (the newest version of a versioned one) as bytes. In the
catalog it is the ``@png`` face of a figure that a plot node saves with ``MatplotlibDataset``
(transcoding: ``forecasting.fedcycle.forecast_model_comparison@matplotlib`` is saved, and
``forecasting.fedcycle.forecast_model_comparison@png`` is loaded by the report on the same file), so
Kedro runs the plot node before the report and kedro-viz draws the edge.

:class:`ReportDataset` saves a report node's output ``{"text": str, "figures": {key: bytes | None}}``
where the text refers to figures as ``figure:<key>``:

* markdown (and any text file but HTML): each figure is written next to the report, in
  ``<report stem>_figures/<key>.png`` (inside the version folder when versioned), and linked
  relatively, so the report opens with its images in any markdown viewer;
* HTML: each figure is embedded as a ``data:image/png;base64,...`` URI, so one file holds
  everything and MLflow's artifact viewer shows it whole.

A figure given as ``None`` (an optional input that does not exist, e.g. the kedro-viz screenshot
made by ``scripts/viz_browser_check.py``) becomes ``missing:<key>`` and a warning is logged.
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError, Version
from kedro_datasets.text import TextDataset

logger = logging.getLogger(__name__)

FIGURE_REF = re.compile(r"figure:([A-Za-z0-9_.-]+)")


class ImageDataset(AbstractVersionedDataset[bytes, bytes]):
    """A binary image file (PNG) loaded as bytes; ``optional: true`` loads ``None`` when absent."""

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version, exists_function=_path_exists)
        self._optional = optional
        self.metadata = metadata

    def load(self) -> bytes | None:
        """The image's bytes (newest version when versioned)."""
        try:
            path = Path(str(self._get_load_path()))
        except DatasetError:  # versioned and no version saved yet
            path = None
        if path is None or not path.is_file():
            if self._optional:
                logger.warning("optional figure %s does not exist", self._filepath)
                return None
            raise DatasetError(
                f"figure {self._filepath} does not exist: run the pipeline that makes it first"
            )
        return path.read_bytes()

    def save(self, data: bytes) -> None:
        """Write the image's bytes."""
        path = Path(str(self._get_save_path()))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version, "optional": self._optional}

    def _exists(self) -> bool:
        try:
            return Path(str(self._get_load_path())).is_file()
        except DatasetError:
            return False


def _path_exists(path: str) -> bool:
    return Path(path).exists()


class ReportDataset(TextDataset):
    """Text report (markdown or HTML) whose ``figure:<key>`` references are resolved on save."""

    def save(self, data: dict[str, Any]) -> None:
        """Write the figures beside a markdown report (or embed them in HTML), then the text."""
        save_path = Path(str(self._get_save_path()))
        figures = data.get("figures") or {}
        embed = save_path.suffix.lower() in (".html", ".htm")
        folder = f"{save_path.stem}_figures"

        def _resolve(match: re.Match[str]) -> str:
            key = match.group(1)
            image = figures.get(key)
            if image is None:
                logger.warning("report %s: figure %s is missing", save_path, key)
                return f"missing:{key}"
            if embed:
                return f"data:image/png;base64,{base64.b64encode(image).decode('ascii')}"
            target = save_path.parent / folder / f"{key}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image)
            return f"{folder}/{key}.png"

        # TextDataset.save is already wrapped by kedro (versioning, errors): call the raw body
        TextDataset.save.__wrapped__(self, FIGURE_REF.sub(_resolve, data["text"]))
