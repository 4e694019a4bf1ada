"""Every notebook runs top to bottom on a fresh kernel, and is stored without outputs."""

import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} holds outputs"


def test_there_are_the_four_notebooks_in_order():
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb",
        "02-speedup.ipynb",
        "03-collaborative-learning.ipynb",
        "04-scale-out.ipynb",
    ]


def _dask_processes():
    """Live processes running dask (workers, nannies, schedulers), by pid."""
    found = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "python" in cmdline and ("dask" in cmdline or "distributed" in cmdline or "multiprocessing" in cmdline):
            found[process.info["pid"]] = cmdline
    return found


def _listening_ports():
    return {(c.laddr.ip, c.laddr.port) for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}


@pytest.mark.processes
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_and_leaves_nothing(path, tmp_path, monkeypatch):
    monkeypatch.setenv("DASKCOLLAB_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    processes, ports = _dask_processes(), _listening_ports()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) >= {"01": 1, "02": 2, "03": 4, "04": 0}[path.name[:2]]  # every plot appears
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (set(_dask_processes()) - set(processes)):
        time.sleep(0.2)  # processes that were told to stop get a moment to exit
    assert set(_dask_processes()) - set(processes) == set(), "a Dask process outlived the notebook"
    assert _listening_ports() - ports == set(), "a port the notebook opened is still listening"
