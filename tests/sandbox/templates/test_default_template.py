"""The default template is what a data analyst expects: seaborn, statsmodels, plotly, xgboost,
polars, duckdb, pyarrow, openpyxl and tabulate import and work in a sandbox, offline."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox.local import LocalSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

ANALYSIS = """\
import numpy as np, pandas as pd
import seaborn as sns, statsmodels.api as sm, xgboost as xgb, plotly.express as px
import polars as pl, duckdb, pyarrow as pa, openpyxl, tabulate
rng = np.random.default_rng(0)
frame = pd.DataFrame({"x": rng.normal(size=200)})
frame["y"] = 3 * frame["x"] + rng.normal(scale=0.1, size=200)
ols = sm.OLS(frame["y"], sm.add_constant(frame["x"])).fit()
booster = xgb.XGBRegressor(n_estimators=5, max_depth=2).fit(frame[["x"]], frame["y"])
[(total,)] = duckdb.sql("select sum(y) as s from frame").fetchall()
polars_total = pl.from_pandas(frame)["y"].sum()
arrow_rows = pa.Table.from_pandas(frame).num_rows
frame.head(2).to_excel("head.xlsx")
table = tabulate.tabulate([[1, 2]], headers=["a", "b"])
sns.scatterplot(data=frame, x="x", y="y")
(round(ols.params["x"]), len(booster.predict(frame[["x"]])), round(total - polars_total, 6),
 arrow_rows, "a" in table)
"""


async def test_the_default_template_runs_a_typical_analysis(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code(ANALYSIS, timeout=90)
    assert execution.error is None, execution.error
    assert execution.text == "(3, 200, 0.0, 200, True)"
    assert any(result.png for result in execution.results)  # the seaborn chart
    assert await sandbox.files.exists("head.xlsx")
