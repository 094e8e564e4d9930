"""The dataset the demo analyses, shipped inside the package (no download): two years of daily
sales of "Kettle & Crumb", an invented chain of four cafés. `scripts/make_demo_dataset.py`
generated it; see that script for the stories hidden in it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEMO_DATASET_NAME = "kettle_and_crumb_sales.csv"
DEMO_DATASET_COLUMNS = (
    "date",
    "store",
    "region",
    "category",
    "units",
    "unit_price",
    "revenue",
    "promotion",
)


def demo_dataset_bytes() -> bytes:
    # importlib.resources rather than a path next to this file: the package may be zipped.
    return files("sandbox_analyst.demo").joinpath("data", DEMO_DATASET_NAME).read_bytes()


def copy_demo_dataset(directory: Path) -> Path:
    """The dataset written out as a file in `directory`, ready to upload."""
    target = directory / DEMO_DATASET_NAME
    target.write_bytes(demo_dataset_bytes())
    return target
