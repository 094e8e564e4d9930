"""The Python the demo's scripted model sends to the sandbox: genuine pandas / matplotlib /
scipy code that runs for real on the shipped dataset. Each cell prints its key figures as
`Label: value` lines, which the scripted answers quote (see `demo.script`).

The cells build on each other (the sandbox keeps variables between calls), and one of them
fails on purpose: the dates are still text, so `.dt` is refused; the next cell fixes that.
"""

from __future__ import annotations

from sandbox_analyst.demo.dataset import DEMO_DATASET_NAME

OVERVIEW = f"""\
import pandas as pd

sales = pd.read_csv("{DEMO_DATASET_NAME}")
print(f"Rows: {{len(sales):,}}")
print(f"Columns: {{', '.join(sales.columns)}}")
print(f"Dates: {{sales['date'].min()}} to {{sales['date'].max()}}")
print(f"Stores: {{', '.join(sorted(sales['store'].unique()))}}")
print(f"Categories: {{', '.join(sorted(sales['category'].unique()))}}")
duplicates = sales.duplicated(["date", "store", "category"]).sum()
print(f"Duplicate date/store/category rows: {{duplicates}}")
first_day = sales.groupby("store")["date"].min()
for store, day in first_day[first_day > sales["date"].min()].items():
    print(f"Opened during the period: {{store}} on {{day}}")
print(f"Rows without units: {{sales['units'].isna().sum()}}")
print(f"Rows without revenue: {{sales['revenue'].isna().sum()}}")
recoverable = sales["revenue"].isna() & sales["units"].notna()
print(f"Revenue missing but units and price known: {{recoverable.sum()}}")
print(f"Share of rows on promotion: {{sales['promotion'].mean():.1%}}")
sales.head()
"""

# Fails: `date` was read as text. The scripted model reads the error and sends MONTHLY.
MONTHLY_FIRST_TRY = """\
monthly = sales.groupby(sales["date"].dt.to_period("M"))["revenue"].sum()
monthly.tail()
"""

MONTHLY = """\
import matplotlib.pyplot as plt

sales["date"] = pd.to_datetime(sales["date"])
sales["month"] = sales["date"].dt.to_period("M")
# Revenue was not recorded on a few rows whose units and price are known: recompute it there.
sales["revenue"] = sales["revenue"].fillna(sales["units"] * sales["unit_price"])

by_store = sales.pivot_table(
    index="month", columns="store", values="revenue", aggfunc="sum", fill_value=0
)
monthly = by_store.sum(axis=1).rename("revenue")
yearly = monthly.groupby(monthly.index.year).sum()
print(f"Revenue 2023: {yearly[2023]:,.0f}")
print(f"Revenue 2024: {yearly[2024]:,.0f}")
print(f"Change: {yearly[2024] / yearly[2023] - 1:+.1%}")
print(f"Best month: {monthly.idxmax()} ({monthly.max():,.0f})")
print(f"Weakest month: {monthly.idxmin()} ({monthly.min():,.0f})")
gaps = sales[sales["units"].isna()].groupby("month").size()
listed = ", ".join(f"{month} ({count} rows)" for month, count in gaps.items())
print(f"Months with rows lacking figures: {listed or 'none'}")
print()
print((monthly / 1000).round(1).to_frame("revenue (thousands)").to_string())

fig, ax = plt.subplots(figsize=(10, 4.5))
bottom = 0
for store in by_store.sum().sort_values(ascending=False).index:
    values = by_store[store] / 1000
    ax.bar(by_store.index.to_timestamp(), values, width=25, bottom=bottom, label=store)
    bottom = bottom + values
ax.set_title("Kettle & Crumb: monthly revenue by shop")
ax.set_ylabel("revenue (thousands)")
ax.legend(ncols=4, loc="upper left", frameon=False)
ax.spines[["top", "right"]].set_visible(False)
ax.grid(axis="y", alpha=0.3)
plt.tight_layout()
plt.show()
"""

DRIVERS = """\
import numpy as np
from scipy import stats

sales["year"] = sales["date"].dt.year


def growth_by(column):
    table = sales.pivot_table(
        index=column, columns="year", values="revenue", aggfunc="sum", fill_value=0
    )
    table["change"] = table[2024] - table[2023]
    table["share_of_growth"] = table["change"] / table["change"].sum()
    return table.sort_values("change", ascending=False)


stores = growth_by("store")
categories = growth_by("category")
print(f"Total growth: {stores['change'].sum():,.0f}")
for store, row in stores.iterrows():
    print(
        f"Store {store}: {row[2023]:,.0f} -> {row[2024]:,.0f} "
        f"({row['change']:+,.0f}, {row['share_of_growth']:.0%} of growth)"
    )
both_years = stores[(stores[2023] > 0) & (stores[2024] > 0)]
print(f"Like-for-like growth: {both_years[2024].sum() / both_years[2023].sum() - 1:+.1%}")
for category, row in categories.iterrows():
    print(f"Category {category}: {row[2024] / row[2023] - 1:+.1%}")

# Promotion days against ordinary days of the same shop, category and month, so that the
# season and the size of a shop do not pass for an effect of the promotion.
measures = ["units", "revenue", "unit_price"]
cells = (
    sales.groupby(["store", "category", "month", "promotion"])[measures]
    .mean()
    .unstack("promotion")
    .dropna()
)
lift = {m: cells[m][True] / cells[m][False] - 1 for m in measures}
print(f"Promotion comparisons: {len(cells)}")
print(f"Units lift on promotion days: {lift['units'].median():+.1%}")
print(f"Price change on promotion days: {lift['unit_price'].median():+.1%}")
print(f"Revenue lift on promotion days: {lift['revenue'].median():+.1%}")
print(f"Revenue lift p-value: {stats.wilcoxon(np.log1p(lift['revenue'])).pvalue:.3f}")
by_category = {m: lift[m].groupby(level="category").median() for m in ["units", "revenue"]}
for category in by_category["units"].index:
    units, revenue = by_category["units"][category], by_category["revenue"][category]
    print(f"Promotion effect on {category}: units {units:+.1%}, revenue {revenue:+.1%}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
(stores["change"] / 1000).sort_values().plot.barh(ax=left, color="#4C72B0")
left.set_title("Revenue change 2024 vs 2023, by shop")
left.set_xlabel("thousands")
left.set_ylabel("")
pd.DataFrame(by_category).mul(100).plot.bar(ax=right, rot=0, color=["#55A868", "#C44E52"])
right.set_title("Promotion days vs ordinary days (median)")
right.set_ylabel("% change")
right.set_xlabel("")
right.axhline(0, color="black", linewidth=0.8)
for axis in (left, right):
    axis.spines[["top", "right"]].set_visible(False)
plt.tight_layout()
plt.show()
"""

SUMMARY_FILE = "monthly_summary.csv"
SAVE_SUMMARY = f"""\
summary = by_store.rename(columns=lambda s: "revenue_" + s.lower().replace(" ", "_"))
summary.insert(0, "revenue_total", monthly)
summary.insert(1, "units", sales.groupby("month")["units"].sum())
summary["revenue_change_vs_year_before"] = monthly.pct_change(12)
summary.index = summary.index.astype(str)
summary.round(4).to_csv("{SUMMARY_FILE}", index_label="month")
print(f"Rows: {{len(summary)}}")
print(f"Columns: month, {{', '.join(summary.columns)}}")
"""
