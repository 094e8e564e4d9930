"""The starter suite's reference code: each reference answer a case checks, computed with
pandas and numpy from the very CSV files the cases upload (read back as a model's code reads
them, so that rounding in the files is the model's rounding too). Never written down in the
suite: the builder runs these and stores the values beside the data."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

Frames = Mapping[str, pd.DataFrame]  # file name -> its table


def _ols(frame: pd.DataFrame, target: str, features: list[str]) -> dict[str, float]:
    """Least-squares coefficients with an intercept, and R²."""
    design = np.column_stack([np.ones(len(frame)), frame[features].to_numpy(float)])
    observed = frame[target].to_numpy(float)
    coefficients, *_ = np.linalg.lstsq(design, observed, rcond=None)
    residuals = observed - design @ coefficients
    r_squared = 1 - (residuals @ residuals) / ((observed - observed.mean()) ** 2).sum()
    return {
        "intercept": coefficients[0],
        **dict(zip(features, coefficients[1:], strict=True)),
        "r_squared": r_squared,
    }


def _strongest_correlate(frame: pd.DataFrame, target: str) -> tuple[str, float]:
    correlations = frame.drop(columns=[target]).corrwith(frame[target])
    name = correlations.abs().idxmax()
    return str(name), float(correlations[name])


def _peak_unemployment(frame: pd.DataFrame) -> pd.Series:
    return frame.loc[frame["unemp"].idxmax()]


def _grunfeld_totals(frames: Frames) -> pd.Series:
    return frames["grunfeld.csv"].groupby("firm")["invest"].sum()


def _iris(frames: Frames) -> pd.DataFrame:
    return frames["iris.csv"]


REFERENCES: dict[str, Callable[[Frames], float | int | str]] = {
    "iris_rows": lambda f: len(_iris(f)),
    "iris_columns": lambda f: _iris(f).shape[1],
    "iris_setosa_mean_petal_length": lambda f: float(
        _iris(f).loc[_iris(f)["species"] == "setosa", "petal_length"].mean()
    ),
    "iris_long_petal_count": lambda f: int((_iris(f)["petal_length"] > 5).sum()),
    "iris_petal_correlation": lambda f: float(
        _iris(f)["petal_length"].corr(_iris(f)["petal_width"])
    ),
    "iris_widest_sepal_species": lambda f: str(
        _iris(f).groupby("species")["sepal_width"].mean().idxmax()
    ),
    "wine_class_2_median_alcohol": lambda f: float(
        f["wine.csv"].loc[f["wine.csv"]["cultivar"] == "class_2", "alcohol"].median()
    ),
    "wine_top_proline_cultivar": lambda f: str(
        f["wine.csv"].groupby("cultivar")["proline"].mean().idxmax()
    ),
    "wine_missing_values": lambda f: int(f["wine.csv"].isna().sum().sum()),
    "diabetes_bmi_slope": lambda f: float(_ols(f["diabetes.csv"], "progression", ["bmi"])["bmi"]),
    "diabetes_mean_progression_sex_2": lambda f: float(
        f["diabetes.csv"].loc[f["diabetes.csv"]["sex"] == 2, "progression"].mean()
    ),
    "diabetes_strongest_feature": lambda f: _strongest_correlate(f["diabetes.csv"], "progression")[
        0
    ],
    "diabetes_strongest_correlation": lambda f: _strongest_correlate(
        f["diabetes.csv"], "progression"
    )[1],
    "breast_cancer_malignant": lambda f: int(
        (f["breast_cancer.csv"]["diagnosis"] == "malignant").sum()
    ),
    "breast_cancer_radius_gap": lambda f: float(
        f["breast_cancer.csv"]
        .groupby("diagnosis")["mean radius"]
        .mean()
        .pipe(lambda means: means["malignant"] - means["benign"])
    ),
    "longley_employment_growth_pct": lambda f: float(
        f["longley.csv"]
        .set_index("YEAR")["TOTEMP"]
        .pipe(lambda employment: (employment[1962] / employment[1947] - 1) * 100)
    ),
    "longley_gnp_coefficient": lambda f: float(
        _ols(f["longley.csv"], "TOTEMP", ["GNP", "POP"])["GNP"]
    ),
    "stackloss_airflow_coefficient": lambda f: float(
        _ols(f["stackloss.csv"], "STACKLOSS", ["AIRFLOW", "WATERTEMP", "ACIDCONC"])["AIRFLOW"]
    ),
    "stackloss_r_squared": lambda f: float(
        _ols(f["stackloss.csv"], "STACKLOSS", ["AIRFLOW", "WATERTEMP", "ACIDCONC"])["r_squared"]
    ),
    "grunfeld_top_firm": lambda f: str(_grunfeld_totals(f).idxmax()),
    "grunfeld_top_firm_total": lambda f: float(_grunfeld_totals(f).max()),
    "grunfeld_years": lambda f: int(f["grunfeld.csv"]["year"].nunique()),
    "anes96_dole_mean_age": lambda f: float(
        f["anes96.csv"].loc[f["anes96.csv"]["vote"] == 1, "age"].mean()
    ),
    "statecrime_poverty_violent_correlation": lambda f: float(
        f["statecrime.csv"]["poverty"].corr(f["statecrime.csv"]["violent"])
    ),
    "spector_psi_improved_pct": lambda f: float(
        f["spector.csv"].loc[f["spector.csv"]["PSI"] == 1, "GRADE"].mean() * 100
    ),
    "macrodata_peak_unemployment_year": lambda f: int(
        _peak_unemployment(f["macrodata.csv"])["year"]
    ),
    "macrodata_peak_unemployment_quarter": lambda f: int(
        _peak_unemployment(f["macrodata.csv"])["quarter"]
    ),
    "engel_median_food_share": lambda f: float(
        (f["engel.csv"]["foodexp"] / f["engel.csv"]["income"]).median()
    ),
}


def compute_references(frames: Frames) -> dict[str, float | int | str]:
    """Every reference value, from the suite's input files."""
    values: dict[str, float | int | str] = {}
    for name, compute in REFERENCES.items():
        value = compute(frames)
        values[name] = value if isinstance(value, str) else _plain(value)
    return values


def _plain(value: float | int) -> float | int:
    """A numpy scalar as the JSON number it is."""
    return int(value) if isinstance(value, (int, np.integer)) else float(value)
