"""Writes the demo's dataset: two years of daily sales of "Kettle & Crumb", a small chain of
cafés. Deterministic (fixed seed); run it once and commit the CSV it writes:

    uv run python scripts/make_demo_dataset.py

The numbers are invented but carry stories an analyst should find: a yearly season per
category, a weekday/weekend pattern, a price rise in January 2024, growth at one shop and a
competitor hurting another from July 2023, a shop that opens in April 2024, promotion weeks
that sell more units at a discount (but barely more revenue), a three-day till outage with no
figures, and a few rows whose revenue was not recorded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "src/sandbox_analyst/demo/data/kettle_and_crumb_sales.csv"
)
SEED = 20250101
DAYS = pd.date_range("2023-01-01", "2024-12-31", freq="D")

# store: (region, size factor, opening day)
STORES = {
    "Old Town": ("Centre", 1.30, None),
    "Riverside": ("Centre", 1.00, None),
    "Northgate": ("North", 0.85, None),
    "Harbour": ("South", 0.95, pd.Timestamp("2024-04-06")),
}
# category: (units a day at a size-1 shop, 2023 price, 2024 price, promotion uplift on units)
CATEGORIES = {
    "Coffee": (170, 3.20, 3.40, 1.22),
    "Pastries": (85, 2.60, 2.70, 1.38),
    "Sandwiches": (55, 5.90, 6.15, 1.25),
    "Beans & Merch": (7, 14.50, 14.90, 1.30),
}
PROMOTION_DISCOUNT = 0.20
PROMOTION_WEEKS_PER_YEAR = 6
TILL_OUTAGE = ("Riverside", pd.date_range("2023-09-12", "2023-09-14"))
REVENUE_NOT_RECORDED = 17  # rows whose revenue cell is empty (units and price are there)


def seasonal(category: str, day: pd.Timestamp) -> float:
    """Yearly season: hot drinks in winter, sandwiches in summer, gifts in December."""
    angle = 2 * np.pi * (day.day_of_year - 15) / 365.25  # 0 in mid-January
    winter = np.cos(angle)  # +1 mid-January, -1 mid-July
    december = 1.0 if day.month == 12 else 0.0
    return {
        "Coffee": 1 + 0.14 * winter,
        "Pastries": 1 + 0.05 * winter + 0.25 * december,
        "Sandwiches": 1 - 0.16 * winter,
        "Beans & Merch": 1 + 0.10 * winter + 1.2 * december,
    }[category]


def weekly(category: str, day: pd.Timestamp) -> float:
    """Commuters on weekdays, families and treats at weekends."""
    weekend = day.day_of_week >= 5
    return {
        "Coffee": 0.82 if weekend else 1.07,
        "Pastries": 1.32 if weekend else 0.87,
        "Sandwiches": 0.68 if weekend else 1.13,
        "Beans & Merch": 1.45 if weekend else 0.82,
    }[category]


def store_factor(store: str, day: pd.Timestamp) -> float:
    """Size, plus each shop's own story over the two years."""
    _, size, opened = STORES[store]
    years = (day - DAYS[0]).days / 365.25
    if store == "Riverside":  # a new office block next door: steady growth
        return size * (1 + 0.11 * years)
    if store == "Northgate":  # a competitor opened across the road in July 2023
        return size * (0.86 if day >= pd.Timestamp("2023-07-01") else 1.0)
    if store == "Harbour" and opened is not None:  # three months to build a clientele
        weeks_open = (day - opened).days / 7
        return size * min(1.0, 0.45 + 0.55 * weeks_open / 13)
    return size * (1 + 0.02 * years)


def promotion_weeks(rng: np.random.Generator) -> dict[tuple[str, str], set[pd.Period]]:
    weeks = pd.period_range(DAYS[0], DAYS[-1], freq="W-SUN")
    chosen = {}
    for store in STORES:
        for category in CATEGORIES:
            picks = rng.choice(len(weeks), size=2 * PROMOTION_WEEKS_PER_YEAR, replace=False)
            chosen[store, category] = {weeks[i] for i in picks}
    return chosen


def build(rng: np.random.Generator) -> pd.DataFrame:
    promotions = promotion_weeks(rng)
    rows = []
    for day in DAYS:
        if day.month == 12 and day.day == 25:
            continue  # every shop is closed on Christmas Day
        for store, (region, _, opened) in STORES.items():
            if opened is not None and day < opened:
                continue
            for category, (base, price_2023, price_2024, uplift) in CATEGORIES.items():
                promoted = day.to_period("W-SUN") in promotions[store, category]
                price = price_2023 if day.year == 2023 else price_2024
                expected = base * store_factor(store, day) * seasonal(category, day)
                expected *= weekly(category, day)
                if promoted:
                    price = round(price * (1 - PROMOTION_DISCOUNT), 2)
                    expected *= uplift
                # Over-dispersed counts, as real tills see: a gamma-Poisson mixture.
                units = int(rng.poisson(expected * rng.gamma(20, 1 / 20)))
                rows.append((day.date(), store, region, category, units, price, promoted))
    frame = pd.DataFrame(
        rows, columns=["date", "store", "region", "category", "units", "unit_price", "promotion"]
    )
    frame["revenue"] = (frame["units"] * frame["unit_price"]).round(2)
    frame["units"] = frame["units"].astype("Int64")
    outage = (frame["store"] == TILL_OUTAGE[0]) & pd.to_datetime(frame["date"]).isin(TILL_OUTAGE[1])
    frame.loc[outage, ["units", "revenue"]] = pd.NA
    unrecorded = rng.choice(frame.index[~outage], size=REVENUE_NOT_RECORDED, replace=False)
    frame.loc[unrecorded, "revenue"] = np.nan
    columns = ["date", "store", "region", "category", "units", "unit_price", "revenue"]
    return frame[[*columns, "promotion"]]


def main() -> None:
    frame = build(np.random.default_rng(SEED))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUTPUT, index=False, float_format="%.2f")
    size = OUTPUT.stat().st_size
    print(f"wrote {OUTPUT} ({len(frame):,} rows, {size / 1024:.0f} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
