"""Plotly figures in the local sandbox: their JSON MIME bundle (in `Result.extra`) with a text
view, exactly once, whether shown, displayed or left as the cell's last value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.sandbox.local.worker.plotly_display import PLOTLY_MIME

FIGURE = (
    "import plotly.graph_objects as go, numpy as np\n"
    "fig = go.Figure(go.Bar(x=np.arange(3), y=[3, 1, 2]), layout_title_text='Sales')\n"
)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("show", ["fig", "fig.show()", "display(fig)", "fig.show(); None"])
async def test_a_plotly_figure_comes_back_once_as_its_json_bundle(
    sandbox: LocalSandbox, show: str
) -> None:
    execution = await sandbox.run_code(FIGURE + show)
    assert execution.error is None
    [result] = execution.results
    figure = result.extra[PLOTLY_MIME]
    assert figure["data"][0]["type"] == "bar"
    assert figure["layout"]["title"]["text"] == "Sales"
    assert result.text == "Plotly figure: 1 trace(s) (bar), title 'Sales'"
    assert execution.logs.stdout == []


@pytest.mark.asyncio(loop_scope="session")
async def test_plotly_express_figures_with_dataframes_come_back_too(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code(
        "import pandas as pd, plotly.express as px\n"
        "frame = pd.DataFrame({'month': ['Jan', 'Feb'], 'sales': [10, 12]})\n"
        "px.line(frame, x='month', y='sales')"
    )
    assert execution.error is None
    [result] = execution.results
    assert result.extra[PLOTLY_MIME]["data"][0]["x"] == ["Jan", "Feb"]


def test_the_renderer_is_set_whenever_plotly_io_is_first_imported() -> None:
    code = (
        "from sandbox_analyst.sandbox.local.worker import plotly_display\n"
        "plotly_display.install()\n"
        "import plotly.io as pio\n"
        "print(pio.renderers.default)"
    )
    assert fresh_python(code).strip() == "sandbox"


def test_configuring_the_renderer_imports_no_nbformat_which_code_can_still_import() -> None:
    # nbformat pulls jsonschema's format checkers: seconds of every zygote's start, for
    # notebook renderers the sandbox's own replaces.
    code = (
        "import sys\n"
        "from sandbox_analyst.sandbox.local.worker import plotly_display\n"
        "plotly_display.install()\n"
        "import plotly.io as pio\n"
        "print(pio.renderers.default, 'nbformat' in sys.modules, 'jsonschema' in sys.modules)\n"
        "import nbformat\n"
        "print(nbformat.v4.new_notebook().nbformat)"
    )
    assert fresh_python(code).split() == ["sandbox", "False", "False", "4"]


def fresh_python(code: str) -> str:
    """What `code` prints in a fresh interpreter (nothing of plotly imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout
