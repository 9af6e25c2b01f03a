"""The exploration notebook runs top to bottom against a demo database."""

from __future__ import annotations

from pathlib import Path

import nbformat
from click.testing import CliRunner
from nbclient import NotebookClient

from monitor.cli import cli

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore_account_health.ipynb"


def test_notebook_recomputes_lsr_by_hand_and_matches_the_library(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert (
        CliRunner()
        .invoke(
            cli,
            ["demo", "--dir", str(tmp_path / "demo")],
            env={"DATABASE_URL": url, "REPORTS_DIR": str(tmp_path / "reports")},
        )
        .exit_code
        == 0
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ACCOUNT", "acme-us")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "\n".join(
        o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    )
    assert "by hand:" in outputs and "library:" in outputs
    by_hand = outputs.split("by hand: ")[1].split(" =")[0]
    library = outputs.split("library: ")[1].split(" =")[0]
    assert by_hand == library
    drawn, late = outputs.split("chart: ")[1].split(" late orders")[0].split(" of ")
    assert drawn == late and int(late) > 0  # the unconfirmed ones (no carrier yet) too
