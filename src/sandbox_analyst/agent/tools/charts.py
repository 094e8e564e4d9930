"""`generate_chart(data_file, chart_type, x, y, title)`: a chart of a data file in the sandbox
(bar, line, scatter, histogram, box), drawn there with pandas and matplotlib in a namespace of
its own (the user's variables stay untouched) and saved as an artifact."""

from __future__ import annotations

import json

from sandbox_analyst.agent.artifacts import CallArtifacts
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import InvalidArguments, ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.registry import Tool
from sandbox_analyst.llm import ToolSpec
from sandbox_analyst.sandbox import Result

GENERATE_CHART = "generate_chart"
CHART_TYPES = ("bar", "line", "scatter", "histogram", "box")
_NEEDS_Y = {"line", "scatter"}
_NEEDS_X = {"bar", "line", "scatter", "histogram"}

# Runs in the sandbox; `REQUEST` = the call's arguments. Prints one JSON object: the PNG in
# base64 and a line saying what was drawn, or the error the model should see.
_SANDBOX_SOURCE = r"""
import base64, csv, io, json, os
import pandas as pd
import matplotlib
import matplotlib.pyplot as plt


def delimiter(path):
    with open(path, newline="", errors="replace") as handle:
        sample = handle.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def load(path):
    extension = os.path.splitext(path)[1].lower()
    if extension in (".csv", ".txt"):
        return pd.read_csv(path, sep=delimiter(path))
    if extension == ".tsv":
        return pd.read_csv(path, sep="\t")
    if extension in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path)
    if extension == ".parquet":
        return pd.read_parquet(path)
    if extension in (".json", ".jsonl", ".ndjson"):
        try:
            return pd.read_json(path, lines=extension != ".json")
        except ValueError:
            return pd.read_json(path, lines=extension == ".json")
    raise ValueError("not a format generate_chart reads (csv, tsv, xlsx, parquet, json)")


def draw(request):
    frame = load(request["data_file"])
    x, y, kind = request.get("x"), request.get("y"), request["chart_type"]
    missing = [c for c in (x, y) if c is not None and c not in frame.columns]
    if missing:
        columns = ", ".join(map(str, frame.columns))
        raise KeyError(f"no column {missing[0]!r} in {request['data_file']}; columns: {columns}")
    figure, axes = plt.subplots(figsize=(8, 5))
    if kind == "bar":
        values = frame.groupby(x)[y].sum() if y else frame[x].value_counts().sort_index()
        values.plot.bar(ax=axes)
        axes.set_ylabel(y or "count")
        drawn = f"{len(values)} bars"
    elif kind == "line":
        frame.sort_values(x).plot.line(x=x, y=y, ax=axes, legend=False)
        axes.set_ylabel(y)
        drawn = f"{len(frame)} points"
    elif kind == "scatter":
        frame.plot.scatter(x=x, y=y, ax=axes)
        drawn = f"{len(frame)} points"
    elif kind == "histogram":
        values = frame[x].dropna()
        axes.hist(values, bins="auto")
        axes.set_ylabel("count")
        drawn = f"{len(values)} values"
    else:
        column = y or x
        if y and x:
            frame.boxplot(column=y, by=x, ax=axes)
            figure.suptitle("")
            drawn = f"{frame[x].nunique()} groups"
        else:
            axes.boxplot(frame[column].dropna())
            axes.set_xticks([1], [column])
            drawn = f"{frame[column].notna().sum()} values"
    if x and kind != "box":
        axes.set_xlabel(x)
    axes.set_title(request.get("title") or "")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return {"png": base64.b64encode(buffer.getvalue()).decode(), "drawn": drawn}


try:
    answer = draw(REQUEST)
except Exception as exc:
    plt.close("all")
    answer = {"error": [type(exc).__name__, str(exc).strip("'\"")]}
print(json.dumps(answer))
"""


def _request(context: ToolContext) -> dict[str, str | None]:
    data_file = context.text_argument("data_file")
    chart_type = context.text_argument("chart_type").strip().lower()
    if chart_type not in CHART_TYPES:
        raise InvalidArguments(f'"chart_type" must be one of {", ".join(CHART_TYPES)}')
    x = _optional(context, "x")
    y = _optional(context, "y")
    if chart_type in _NEEDS_X and x is None:
        raise InvalidArguments(f'a {chart_type} chart needs "x" (a column name)')
    if chart_type in _NEEDS_Y and y is None:
        raise InvalidArguments(f'a {chart_type} chart needs "y" (a column name)')
    if chart_type == "box" and x is None and y is None:
        raise InvalidArguments('a box chart needs "y" (or "x"): the column to summarise')
    title = _optional(context, "title") or ""
    return {"data_file": data_file, "chart_type": chart_type, "x": x, "y": y, "title": title}


def _optional(context: ToolContext, name: str) -> str | None:
    value = context.text_argument(name, default="").strip()
    return value or None


async def generate_chart(context: ToolContext) -> ToolOutcome:
    request = _request(context)
    sandbox = context.sandbox
    path = request["data_file"]
    if not await sandbox.files.exists(path):
        return ToolOutcome(
            Observation.failure("FileNotFoundError", f"no file {path!r}; try list_files")
        )
    code = f"exec({_SANDBOX_SOURCE!r}, {{'REQUEST': {request!r}}})"
    execution = await sandbox.run_code(code, timeout=context.config.code_timeout)
    if execution.error is not None:
        error = execution.error
        return ToolOutcome(Observation.failure(error.name, error.value))
    try:
        answer = json.loads("".join(execution.logs.stdout))
        if "error" in answer:
            name, value = answer["error"]
            return ToolOutcome(Observation.failure(name, value))
        chart = Result(png=answer["png"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return ToolOutcome(
            Observation.failure("ChartError", f"the chart code printed something unexpected: {exc}")
        )
    turn = context.turn
    produced = CallArtifacts(context.artifacts, turn.figures, turn.budget)
    ref = await produced.save_figure(chart)
    if ref is None:
        notes = produced.finish()
        return ToolOutcome(Observation.failure("ChartNotSaved", " ".join(notes) or "not saved"))
    await context.artifact(ref)
    axes = " by ".join(str(v) for v in (request["y"], request["x"]) if v)
    drawn = f"{request['chart_type']} chart of {axes} from {path}: {answer['drawn']}"
    return ToolOutcome(Observation(success=True, stdout=drawn, artifacts=[ref]))


GENERATE_CHART_TOOL = Tool(
    spec=ToolSpec(
        GENERATE_CHART,
        "Draw a chart of a data file in the sandbox's working directory and save it as an "
        "image: bar (y summed per x, or the count of each x), line and scatter (y against x), "
        "histogram (of x), box (of y, grouped by x if given). Returns a markdown link.",
        {
            "type": "object",
            "properties": {
                "data_file": {"type": "string", "description": "Data file path, relative."},
                "chart_type": {"type": "string", "enum": list(CHART_TYPES)},
                "x": {"type": "string", "description": "Column for the x axis."},
                "y": {"type": "string", "description": "Column for the y axis."},
                "title": {"type": "string", "description": "The chart's title."},
            },
            "required": ["data_file", "chart_type"],
        },
    ),
    handler=generate_chart,
    usage="generate_chart(data_file, chart_type, x, y, title): a bar, line, scatter, histogram "
    "or box chart of a data file, saved as an image.",
)
