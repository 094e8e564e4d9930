"""The demo's dataset ships inside the package and holds the stories the demo tells."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from sandbox_analyst.demo import (
    DEMO_DATASET_COLUMNS,
    DEMO_DATASET_NAME,
    copy_demo_dataset,
    demo_dataset_bytes,
)


def load() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(demo_dataset_bytes()), parse_dates=["date"])


def test_it_loads_with_the_expected_columns_and_two_years_of_days() -> None:
    sales = load()
    assert tuple(sales.columns) == DEMO_DATASET_COLUMNS
    assert sales["date"].min() == pd.Timestamp("2023-01-01")
    assert sales["date"].max() == pd.Timestamp("2024-12-31")
    assert not sales.duplicated(["date", "store", "category"]).any()
    assert len(demo_dataset_bytes()) < 1024 * 1024


def test_it_has_gaps_a_late_opening_and_promotions_to_find() -> None:
    sales = load()
    assert 0 < sales["units"].isna().sum() < 50
    assert sales["revenue"].isna().sum() > sales["units"].isna().sum()
    first_days = sales.groupby("store")["date"].min()
    assert (first_days > sales["date"].min()).sum() == 1
    assert 0.02 < sales["promotion"].mean() < 0.2


def test_it_is_copied_out_under_its_name(tmp_path: Path) -> None:
    path = copy_demo_dataset(tmp_path)
    assert path == tmp_path / DEMO_DATASET_NAME
    assert path.read_bytes() == demo_dataset_bytes()
