"""Every notebook in notebooks/ runs top to bottom in the project's kernel without an error."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
EXPECTED_OUTPUT = {  # lines a notebook must print, from the data contract (common brief)
    "01_explore_cohorts.ipynb": ["159 women", "85 women"],
}


def _text_outputs(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_there_are_notebooks_and_they_are_committed_without_outputs():
    assert len(NOTEBOOKS) >= 2
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path.name
        assert "%load_ext kedro.ipython" in notebook.cells[1].source, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_from_the_project_root(path: Path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(PROJECT_ROOT)}},  # cwd = project root
    )
    client.execute()  # raises CellExecutionError with the cell and traceback on any error

    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    for line in EXPECTED_OUTPUT.get(path.name, []):
        assert line in _text_outputs(notebook)
