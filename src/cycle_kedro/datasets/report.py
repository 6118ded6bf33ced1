"""A text report whose figure references are resolved when it is saved.

Nodes may not know where (or under which version) the catalog wrote a figure, so the reporting
nodes write ``figure:<path>`` where ``<path>`` is relative to the report's folder, e.g.
``![P4 vs steps](figure:statistics/synthetic_steps_hormone_scatter.png)``. On save,
:class:`ReportDataset` replaces each reference with

* a relative link to the newest version of that figure (``.md`` and other text files), so the
  report opens with its images in any markdown viewer, or
* an embedded ``data:image/png;base64,...`` URI (``.html``), so one file holds everything and
  MLflow's artifact viewer shows it whole.

A versioned figure (``statistics/x.png/<timestamp>/x.png``) resolves to its latest timestamp. A
figure that does not exist (yet) becomes ``missing:<path>`` and a warning is logged.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import os
import re
from pathlib import Path, PurePosixPath

from kedro_datasets.text import TextDataset

logger = logging.getLogger(__name__)

FIGURE_REF = re.compile(r"figure:([^\s)\"'<>]+)")


def latest_figure(root: Path, relpath: str) -> Path | None:
    """The file at ``root/relpath``, or its newest version when it is a versioned folder."""
    target = root / relpath
    if target.is_file():
        return target
    if target.is_dir():
        versions = sorted(p / target.name for p in target.iterdir() if (p / target.name).is_file())
        return versions[-1] if versions else None
    return None


class ReportDataset(TextDataset):
    """Text report (markdown or HTML) that resolves ``figure:<path>`` references on save."""

    def save(self, data: str) -> None:
        """Resolve figure references against the report's folder, then write the text."""
        save_path = Path(str(self._get_save_path()))
        root = Path(str(self._filepath)).parent
        embed = PurePosixPath(str(self._filepath)).suffix.lower() in (".html", ".htm")

        def _resolve(match: re.Match[str]) -> str:
            relpath = match.group(1)
            found = latest_figure(root, relpath)
            if found is None:
                logger.warning("report %s: figure %s not found under %s", save_path, relpath, root)
                return f"missing:{relpath}"
            if embed:
                mime = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
                return f"data:{mime};base64,{base64.b64encode(found.read_bytes()).decode('ascii')}"
            return Path(os.path.relpath(found, save_path.parent)).as_posix()

        # TextDataset.save is already wrapped by kedro (versioning, errors): call the raw body
        TextDataset.save.__wrapped__(self, FIGURE_REF.sub(_resolve, data))
