"""What the demo's scripted model says: four questions about the shipped dataset, each answered
by tool calls running the code in `demo.cells`, then an answer written from what that code
really printed. The model's turns are replayed; the numbers are not: every figure in an answer
is read from the tool output the fake model server received, at the moment it answers.

When the real output lacks a line an answer needs (the data or a library changed), the answer
is not invented: the turn says so and `DemoScript.mismatches` records why, which the runner
turns into a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox_analyst.agent import EXECUTE_CODE
from sandbox_analyst.demo import cells
from sandbox_analyst.demo.dataset import DEMO_DATASET_NAME
from sandbox_analyst.demo.report import observation_sections
from sandbox_analyst.testing import ScriptEntry, Turn, last_tool_result

DEMO_MODEL = "scripted-demo"
REPLAY_NOTICE = (
    "The model's turns in this conversation were replayed from a script (no LLM was called): "
    "the questions, the code and the wording are scripted. Everything else is real: the code "
    "ran in the sandbox, the charts and files were produced by it, and every number in the "
    "answers was read from the code's actual output."
)


class ScriptMismatch(Exception):
    """The code's real output lacks something a scripted answer needs."""


@dataclass
class ToolOutput:
    """The newest tool result the model was sent, read the way the scripted answers need."""

    observation: str

    @classmethod
    def from_request(cls, body: dict) -> ToolOutput:
        observation = last_tool_result(body)
        if observation is None:
            raise ScriptMismatch("the model was sent no tool result to answer from")
        return cls(observation)

    def section(self, name: str) -> str:
        sections = observation_sections(self.observation)
        if sections is None:
            raise ScriptMismatch(f"unexpected tool result layout:\n{self.observation[:500]}")
        return sections[name]

    def values(self, label: str) -> list[str]:
        """Every `label: value` line the code printed, in order."""
        pattern = re.compile(rf"^{re.escape(label)}: (.+)$", re.MULTILINE)
        return [value.strip() for value in pattern.findall(self.section("stdout"))]

    def lines(self, prefix: str) -> list[str]:
        """The rest of every line the code printed starting with `prefix` and a space."""
        pattern = re.compile(rf"^{re.escape(prefix)} (.+)$", re.MULTILINE)
        return [line.strip() for line in pattern.findall(self.section("stdout"))]

    def value(self, label: str) -> str:
        found = self.values(label)
        if not found:
            raise ScriptMismatch(f"the code printed no {label!r} line:\n{self.observation[:1500]}")
        return found[0]

    def links(self) -> list[str]:
        """The markdown links of the charts and files the code produced."""
        links = re.findall(r"!?\[[^\]\n]*\]\([^)\s]+\)", self.section("files"))
        if not links:
            raise ScriptMismatch(f"the code produced no chart or file:\n{self.observation[:1500]}")
        return links

    def require_error(self, name: str) -> None:
        if not self.section("error").startswith(f"{name}:"):
            raise ScriptMismatch(f"expected the code to fail with {name}:\n{self.observation}")


def number(text: str) -> float:
    """A printed figure (`1,234`, `+28.3%`, `-17,935`) as a float."""
    match = re.search(r"[-+]?[\d,]*\.?\d+", text)
    if match is None:
        raise ScriptMismatch(f"no number in {text!r}")
    return float(match.group().replace(",", ""))


@dataclass
class DemoQuestion:
    text: str
    turns: list[ScriptEntry]
    attach_dataset: bool = False


@dataclass
class DemoScript:
    """The questions and their scripted turns. Feed one question's `turns` to the fake model
    server before asking it; afterwards `mismatches` must be empty."""

    mismatches: list[str] = field(default_factory=list)
    opened: tuple[str, str] | None = None  # (shop, day) learnt from the overview

    def questions(self) -> list[DemoQuestion]:
        return [
            DemoQuestion(
                f"I've uploaded two years of sales of our café chain ({DEMO_DATASET_NAME}). "
                "What's in this file?",
                [
                    _code("Let me load the file and take stock of it.", cells.OVERVIEW),
                    self._answer(self._overview),
                ],
                attach_dataset=True,
            ),
            DemoQuestion(
                "How did revenue develop month by month? Please chart it.",
                [
                    _code("I'll sum revenue per month.", cells.MONTHLY_FIRST_TRY),
                    self._turn(self._fix_dates),
                    self._answer(self._monthly),
                ],
            ),
            DemoQuestion(
                "Which shops and categories drive the growth, and did the promotions work?",
                [
                    _code(
                        "I'll compare 2024 with 2023 per shop and per category, and compare "
                        "promotion days with ordinary days of the same shop, category and month.",
                        cells.DRIVERS,
                    ),
                    self._answer(self._drivers),
                ],
            ),
            DemoQuestion(
                "Save the monthly summary as a CSV file I can open in Excel.",
                [_code("", cells.SAVE_SUMMARY), self._answer(self._summary_file)],
            ),
        ]

    # --- turns built from the real output ----------------------------------------------------

    def _turn(self, build: Callable[[ToolOutput], Turn]) -> Callable[[dict], Turn]:
        def turn(body: dict) -> Turn:
            try:
                return build(ToolOutput.from_request(body))
            except Exception as exc:
                # Raised here it would only drop the fake server's connection: the runner
                # reports it instead, and the turn says plainly that it has no answer.
                reason = str(exc) if isinstance(exc, ScriptMismatch) else repr(exc)
                self.mismatches.append(reason)
                return Turn(text=f"[demo script: cannot answer from this output: {reason}]")

        return turn

    def _answer(self, write: Callable[[ToolOutput], str]) -> Callable[[dict], Turn]:
        return self._turn(lambda output: Turn(text=write(output)))

    def _overview(self, out: ToolOutput) -> str:
        columns = out.value("Columns").split(", ")
        start, _, end = out.value("Dates").partition(" to ")
        opened = [line.split(" on ") for line in out.values("Opened during the period")]
        shops = out.value("Stores")
        if opened:
            shop, day = opened[0]
            self.opened = (shop, day)
            shops += f". {shop} appears only from {day}: it opened during the period"
        duplicates = int(number(out.value("Duplicate date/store/category rows")))
        grain = (
            "one row per day, shop and category"
            if duplicates == 0
            else f"rows per day, shop and category ({duplicates} duplicated)"
        )
        return (
            f"The file holds **{out.value('Rows')} rows** of daily sales from {start} to {end}, "
            f"{grain}, in {len(columns)} columns: {', '.join(f'`{c}`' for c in columns)}.\n\n"
            f"- **Shops:** {shops}.\n"
            f"- **Categories:** {out.value('Categories')}.\n"
            f"- **Promotions:** {out.value('Share of rows on promotion')} of the rows are "
            "promotion days.\n"
            f"- **Gaps:** {out.value('Rows without units')} rows have no units and "
            f"{out.value('Rows without revenue')} no revenue; on "
            f"{out.value('Revenue missing but units and price known')} of those, units and "
            "price are there, so their revenue can be recomputed.\n\n"
            "Ask me how revenue developed, or what drives it."
        )

    def _fix_dates(self, out: ToolOutput) -> Turn:
        out.require_error("AttributeError")
        return _code(
            "That failed: `date` was read as text, so `.dt` does not work on it. I'll convert "
            "it to dates, recompute the revenue that is missing where units and price are "
            "known, and try again.",
            cells.MONTHLY,
        )

    def _monthly(self, out: ToolOutput) -> str:
        (chart,) = out.links()[:1]
        weakest = out.value("Weakest month")
        weakest_month = weakest.split(" ")[0]
        gaps = out.value("Months with rows lacking figures")
        lines = [
            f"Revenue grew from **{out.value('Revenue 2023')}** in 2023 to "
            f"**{out.value('Revenue 2024')}** in 2024, **{out.value('Change')}**.",
            "",
            chart,
            "",
            f"- Best month: {out.value('Best month')}.",
        ]
        gap = re.search(rf"{re.escape(weakest_month)} \((\d+) rows\)", gaps)
        weakest_line = f"- Weakest month: {weakest}."
        if gap:
            weakest_line += (
                f" Careful: {gap.group(1)} rows of that month have no figures at all, so part "
                "of that dip is missing records, not missing sales."
            )
        lines.append(weakest_line)
        if self.opened:
            shop, day = self.opened
            lines.append(
                f"- The step up in 2024 coincides with **{shop}** opening on {day}; "
                "the next question shows how much of the growth it brings."
            )
        return "\n".join(lines)

    def _drivers(self, out: ToolOutput) -> str:
        chart = out.links()[0]
        rows = ["| shop | 2023 | 2024 | change | share of growth |", "|---|---:|---:|---:|---:|"]
        shops = []
        for line in out.lines("Store"):
            match = re.fullmatch(r"(.+?): (\S+) -> (\S+) \((\S+), (\S+) of growth\)", line)
            if match is None:
                raise ScriptMismatch(f"unexpected shop line {line!r}")
            shops.append(match.groups())
            rows.append("| " + " | ".join(match.groups()) + " |")
        if not shops:
            raise ScriptMismatch(f"the code printed no shop lines:\n{out.observation[:1500]}")
        top = shops[0]
        top_note = (
            ", and it only opened in 2024"
            if self.opened and self.opened[0] == top[0] and number(top[1]) == 0
            else ""
        )
        shrinking = [shop for shop in shops if number(shop[3]) < 0]
        categories = "; ".join(out.lines("Category"))
        units = out.value("Units lift on promotion days")
        price = out.value("Price change on promotion days")
        revenue = out.value("Revenue lift on promotion days")
        p_value = out.value("Revenue lift p-value")
        lines = [
            f"2024 brought **{out.value('Total growth')}** more revenue than 2023.",
            "",
            *rows,
            "",
            f"- **{top[0]}** brings {top[4]} of the growth{top_note}. Shops open in both years "
            f"grew {out.value('Like-for-like growth')} like-for-like.",
        ]
        lines += [f"- **{shop[0]}** shrank ({shop[3]})." for shop in shrinking]
        lines += [
            f"- By category: {categories}.",
            "",
            chart,
            "",
            f"**Promotions:** on promotion days shops sold **{units}** units at **{price}** "
            f"prices, so revenue moved **{revenue}** (median over "
            f"{out.value('Promotion comparisons')} comparisons of the same shop, category and "
            f"month; p = {p_value}). {_promotion_verdict(number(revenue), number(p_value))}",
            "",
            *[f"- {line}" for line in out.lines("Promotion effect on")],
        ]
        return "\n".join(lines)

    def _summary_file(self, out: ToolOutput) -> str:
        link = next((link for link in out.links() if cells.SUMMARY_FILE in link), None)
        if link is None:
            raise ScriptMismatch(f"{cells.SUMMARY_FILE} was not produced:\n{out.observation}")
        columns = out.value("Columns").split(", ")
        return (
            f"Here it is: {link}: {out.value('Rows')} rows, one per month, with the columns "
            f"{', '.join(f'`{c}`' for c in columns)}. Revenue is per shop and in total; the "
            "last column is the change against the same month a year before (empty in 2023)."
        )


def _code(text: str, code: str) -> Turn:
    return Turn(text=text, tool_calls=[(EXECUTE_CODE, {"code": code})])


def _promotion_verdict(revenue_lift: float, p_value: float) -> str:
    noise = "" if p_value < 0.05 else " and could be noise"
    if abs(revenue_lift) < 5:
        return (
            f"The discount eats almost all of the extra volume{noise}: promotions bring "
            "customers in, not money."
        )
    if revenue_lift > 0:
        return f"Promotions pay for their discount{noise}."
    return f"Promotions lose revenue{noise}."
