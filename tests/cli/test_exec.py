"""`analyst exec`: code from the shell in a fresh sandbox, its output on stdout, and a zygote
that preloads only what that code imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_analyst.cli.exec_cmd import preload_for
from sandbox_analyst.config import SandboxSettings

DEFAULT_PRELOAD = SandboxSettings().preload


def analyst(*arguments: str, data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANALYST_")}
    env["ANALYST_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-c", "from sandbox_analyst.cli import main; main()", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exec_works_on_a_fresh_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-used"
    done = analyst("exec", "1+1", data_dir=data_dir, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def test_exec_code_that_imports_pandas_and_plots_gets_both(tmp_path: Path) -> None:
    code = (
        "import pandas as pd\nimport matplotlib.pyplot as plt\n"
        "frame = pd.DataFrame({'a': [1, 2, 3]})\nprint('total', frame.a.sum())\n"
        "frame.plot()\nplt.show()"
    )
    done = analyst("exec", code, data_dir=tmp_path / "data", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "total 6" in done.stdout
    assert (tmp_path / "analyst-output" / "output-1.png").read_bytes().startswith(b"\x89PNG")


def test_exec_exits_1_with_the_traceback_on_an_error(tmp_path: Path) -> None:
    done = analyst("exec", "1/0", data_dir=tmp_path / "data", cwd=tmp_path)
    assert done.returncode == 1
    assert "ZeroDivisionError" in done.stderr


def test_exec_runs_sql_over_a_copied_file_and_reports_duckdbs_error(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("region,amount\nnorth,10\nnorth,7\n")
    query = "SELECT region, sum(amount) AS total FROM 'sales.csv' GROUP BY 1"
    done = analyst(
        "exec", "-l", "sql", "--file", "sales.csv", query, data_dir=tmp_path / "data", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["region", "total", "0", "north", "17.0"]
    failed = analyst(
        "exec", "-l", "sql", "SELECT * FROM nope", data_dir=tmp_path / "d", cwd=tmp_path
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("CatalogException: Catalog Error")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1+1", []),
        ("import pandas as pd\npd.DataFrame()", ["pandas"]),
        ("import matplotlib.pyplot as plt", ["matplotlib.pyplot"]),
        (
            "from sklearn.linear_model import LinearRegression",
            ["sklearn", "sklearn.linear_model", "sklearn.ensemble", "sklearn.model_selection"],
        ),
        ("import numpy as np, scipy.stats", ["numpy", "scipy", "scipy.stats"]),
        ("def f():\n    import seaborn\n", ["seaborn"]),
        ("from .local import thing", []),
        ("%matplotlib inline\nimport pandas", ["pandas"]),  # IPython syntax: import lines
    ],
)
def test_the_zygote_of_exec_preloads_what_the_code_imports(code: str, expected: list[str]) -> None:
    assert preload_for(code, DEFAULT_PRELOAD) == expected
