"""The starter suite's input files: datasets that ship inside scikit-learn and statsmodels
(read from files in those packages: nothing is downloaded), as the CSV files the cases upload.

Each is tidied the way a person would share it: readable column names, classes named rather
than numbered, the index a column."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(
        columns={
            "sepal length (cm)": "sepal_length",
            "sepal width (cm)": "sepal_width",
            "petal length (cm)": "petal_length",
            "petal width (cm)": "petal_width",
        }
    )
    frame["species"] = frame.pop("target").map(dict(enumerate(bunch.target_names)))
    return frame


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.copy()
    frame["cultivar"] = frame.pop("target").map(dict(enumerate(bunch.target_names)))
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.rename(columns={"target": "progression"})


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.copy()
    frame["diagnosis"] = frame.pop("target").map(dict(enumerate(bunch.target_names)))
    return frame


def _statsmodels(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from statsmodels import datasets

        frame = getattr(datasets, name).load_pandas().data
        if frame.index.name is not None:  # statecrime: the state is the index
            frame = frame.reset_index()
        for column in ("year", "quarter", "YEAR"):  # stored as floats: 1935.0
            if column in frame and (frame[column] % 1 == 0).all():
                frame[column] = frame[column].astype(int)
        return frame

    return load


# File name -> how to make it.
DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "iris.csv": _iris,
    "wine.csv": _wine,
    "diabetes.csv": _diabetes,
    "breast_cancer.csv": _breast_cancer,
    "longley.csv": _statsmodels("longley"),
    "stackloss.csv": _statsmodels("stackloss"),
    "grunfeld.csv": _statsmodels("grunfeld"),
    "anes96.csv": _statsmodels("anes96"),
    "statecrime.csv": _statsmodels("statecrime"),
    "spector.csv": _statsmodels("spector"),
    "macrodata.csv": _statsmodels("macrodata"),
    "engel.csv": _statsmodels("engel"),
}
