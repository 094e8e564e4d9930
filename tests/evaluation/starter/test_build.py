"""The starter suite builds offline from datasets inside scikit-learn and statsmodels; its
reference answers are what pandas says about the very files the cases upload; the build is
cached by a hash of what it reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sandbox_analyst.evaluation import CHECK_TYPES, Suite, load_suite
from sandbox_analyst.evaluation.starter import (
    REFERENCES,
    REFERENCES_FILE,
    build_hash,
    build_starter,
    packaged_suite,
    starter_suite,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_starter(tmp_path_factory.mktemp("starter"))


@pytest.fixture(scope="module")
def suite(built: Path) -> Suite:
    return load_suite(built)


@pytest.fixture(scope="module")
def references(built: Path) -> dict[str, object]:
    return json.loads((built.parent / REFERENCES_FILE).read_text())


def read(built: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(built.parent / "data" / name)


def test_the_suite_has_twenty_cases_or_more_using_every_kind_of_check(suite: Suite) -> None:
    assert suite.name == "starter"
    assert len(suite.cases) >= 20
    used = {check.type for case in suite.cases for check in case.checks}
    assert used == set(CHECK_TYPES)
    for case in suite.cases:  # every input file was written
        assert case.files
        assert all(suite.file_path(name).is_file() for name in case.files)


def test_every_reference_is_computed_and_none_is_written_in_the_suite(
    references: dict[str, object],
) -> None:
    assert set(references) == set(REFERENCES)
    text = packaged_suite().decode()
    assert "expected: {reference:" in text
    for line in text.splitlines():  # numbers the checks compare against are never literal
        assert "expected:" not in line or "reference" in line, line


def test_the_references_are_what_pandas_computes_from_the_files(
    built: Path, references: dict[str, object]
) -> None:
    iris = read(built, "iris.csv")
    assert iris.shape == (150, 5)
    assert references["iris_rows"] == 150
    assert references["iris_setosa_mean_petal_length"] == pytest.approx(
        iris.groupby("species")["petal_length"].mean()["setosa"]
    )
    assert references["iris_long_petal_count"] == len(iris.query("petal_length > 5"))
    assert references["iris_petal_correlation"] == pytest.approx(
        iris[["petal_length", "petal_width"]].corr().iloc[0, 1]
    )
    wine = read(built, "wine.csv")
    assert references["wine_class_2_median_alcohol"] == pytest.approx(
        wine.groupby("cultivar")["alcohol"].median()["class_2"]
    )
    assert (
        references["wine_top_proline_cultivar"]
        == (wine.groupby("cultivar")["proline"].mean().sort_values().index[-1])
    )
    diabetes = read(built, "diabetes.csv")
    slope, _intercept = np.polyfit(diabetes["bmi"], diabetes["progression"], 1)
    assert references["diabetes_bmi_slope"] == pytest.approx(slope)
    correlations = diabetes.corr()["progression"].drop("progression")
    assert references["diabetes_strongest_feature"] == correlations.abs().idxmax()
    cancer = read(built, "breast_cancer.csv")
    assert references["breast_cancer_malignant"] == cancer["diagnosis"].value_counts()["malignant"]
    stackloss = read(built, "stackloss.csv")
    design = np.column_stack(
        [np.ones(len(stackloss)), stackloss[["AIRFLOW", "WATERTEMP", "ACIDCONC"]]]
    )
    coefficients, residual, *_ = np.linalg.lstsq(design, stackloss["STACKLOSS"], rcond=None)
    assert references["stackloss_airflow_coefficient"] == pytest.approx(coefficients[1])
    total = ((stackloss["STACKLOSS"] - stackloss["STACKLOSS"].mean()) ** 2).sum()
    assert references["stackloss_r_squared"] == pytest.approx(1 - residual[0] / total)
    grunfeld = read(built, "grunfeld.csv")
    totals = grunfeld.pivot_table(index="firm", values="invest", aggfunc="sum")["invest"]
    assert references["grunfeld_top_firm"] == totals.idxmax()
    assert references["grunfeld_top_firm_total"] == pytest.approx(totals.max())
    macro = read(built, "macrodata.csv").sort_values("unemp", ascending=False)
    assert (
        references["macrodata_peak_unemployment_year"],
        references["macrodata_peak_unemployment_quarter"],
    ) == tuple(macro[["year", "quarter"]].iloc[0])
    engel = read(built, "engel.csv")
    assert references["engel_median_food_share"] == pytest.approx(
        np.median(engel["foodexp"] / engel["income"])
    )


def test_the_build_is_cached_by_the_hash_of_what_it_reads(tmp_path: Path) -> None:
    first = starter_suite(tmp_path)

    assert first.parent.name == f"starter-{build_hash()}"
    marker = first.parent / "data" / "iris.csv"
    stamp = marker.stat().st_mtime_ns
    assert starter_suite(tmp_path) == first
    assert marker.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == [first.parent.name]  # no leftovers
