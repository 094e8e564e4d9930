"""Cold start benchmark: how long the first thing takes, against plain Python in the same run.

    uv run python benchmarks/cold_start.py [--runs 5] [--src PATH] [--before PATH]

Every run of a product command gets a fresh `ANALYST_DATA_DIR` (nothing running, nothing
cached there). Measured, as the median of `--runs`:

1. baselines: `python -c "import numpy"`; `python -c "import <the default preload list>"`;
   a `jupyter kernel` (ipykernel through jupyter_client) started and importing that list;
   floors, each imported in one plain process: the CLI's own libraries (typer, pydantic, rich,
   pydantic-settings) and the sandbox shell (IPython), both before `exec` runs a cell, against
   `import numpy`; the app and the OpenAI SDK, before `chat`'s first turn reaches the model,
   against the preload list;
2. `analyst exec "1+1"`: wall time (and CPU seconds of all its processes), against
   `import numpy`;
3. `analyst chat sales.csv QUESTION` (embedded server, default preload, a scripted model on
   127.0.0.1 whose first step runs a pandas cell): time until that cell's output is printed,
   against importing the preload list;
4. `analyst serve --single-user`: time until its port accepts connections (target: 1 s),
   until `/api/health` answers 200 (the app built, the database open), and until a first
   turn that runs a pandas cell, sent as soon as health answers, is finished.

`--src` runs the commands from another checkout's `src/`; `--before SRC` measures that one too
(e.g. a worktree of an older commit), product after product within each run, so that a slow
spell of a shared machine falls on both alike, each against baselines measured next to it.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from jupyter_client.manager import start_new_kernel

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.testing import FakeLLMServer, Turn

PRELOAD = SandboxSettings().preload
PANDAS_CELL = "import pandas as pd\nprint('rows', len(pd.read_csv('sales.csv')))"
CLI = ["-c", "from sandbox_analyst.cli import main; main()"]
# Floors: what must be imported before the first cell can run, each in one process. The CLI
# (typer coerces arguments with pydantic) and every sandbox's shell (IPython) come before
# `analyst exec` runs a cell; the app and the OpenAI SDK before `analyst chat`'s first turn asks
# the model for its cell.
CLI_LIBRARIES = "typer, pydantic, rich.console, pydantic_settings"
SANDBOX_SHELL = "IPython"
SERVER_STACK = "sandbox_analyst.api.app, openai"


@dataclass
class Row:
    name: str
    against: str = ""  # the baseline its ratio is taken against (a key of `table`'s baselines)
    samples: dict[str, list[float]] = field(default_factory=dict)  # per product measured
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, product: str, wall: float, cpu: float | None = None) -> None:
        self.samples.setdefault(product, []).append(wall)
        if cpu is not None:
            self.cpu.setdefault(product, []).append(cpu)

    def median(self, product: str) -> float:
        return statistics.median(self.samples[product])


def python_env(src: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYST_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    env.update(extra)
    return env


def product_env(src: Path | None, data_dir: Path, fake: FakeLLMServer) -> dict[str, str]:
    """A product command's environment: its own data directory, the scripted model."""
    return python_env(
        src,
        ANALYST_DATA_DIR=str(data_dir),
        ANALYST_LLM__BASE_URL=fake.openai_base_url,
        ANALYST_LLM__API_KEY="benchmark",
        ANALYST_LLM__MODEL="benchmark",
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a command (CPU of every process it waited for, too)."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return wall, children_cpu() - cpu


def until_line(command: list[str], env: dict[str, str], cwd: Path, text: str) -> float:
    """Seconds from starting `command` until a line of its output contains `text`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen.append(line)
            if text in line:
                return time.perf_counter() - started
        raise SystemExit(f"{text!r} never came from {command}:\n{''.join(seen)}")
    finally:
        process.kill()
        process.wait()


def kernel_with_preload() -> float:
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
    try:
        reply = client.execute_interactive(
            "import " + ", ".join(PRELOAD), timeout=120, output_hook=lambda _: None
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        return time.perf_counter() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_times(env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Seconds until the port accepts connections, until /api/health is 200 and until a
    first turn has finished."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *CLI, "serve", "--single-user", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"analyst serve exited with {process.returncode}") from None
                time.sleep(0.005)
        accepting = time.perf_counter() - started
        with httpx.Client(base_url=base, timeout=120) as http:
            while True:
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise SystemExit(f"analyst serve exited with {process.returncode}")
                time.sleep(0.01)
            health = time.perf_counter() - started
            http.post("/api/assistants", json={"name": "Analyst"}).raise_for_status()
            models = http.get("/v1/models").json()["data"]
            model = next(card["id"] for card in models if card["owned_by"] != "sandbox-analyst")
            turn = http.post(
                "/v1/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": "How many?"}]},
            )
            turn.raise_for_status()
            return accepting, health, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(runs: int, products: dict[str, Path | None]) -> list[Row]:
    """Every row for each of `products` (a name -> the src/ directory to run it from; None:
    this checkout), product after product within each run, so that a slow spell of a shared
    machine falls on all of them alike. The baselines are measured next to each product."""
    numpy = Row("python -c 'import numpy'")
    preload = Row("import preload list")
    kernel = Row("jupyter kernel + import preload list")
    floors = {
        libraries: Row(f"python -c 'import {libraries}'", against)
        for libraries, against in (
            (CLI_LIBRARIES, "import numpy"),
            (SANDBOX_SHELL, "import numpy"),
            (SERVER_STACK, "import preload list"),
        )
    }
    exec_row = Row('analyst exec "1+1"', "import numpy")
    chat_row = Row("analyst chat: first pandas cell output", "import preload list")
    accept_row = Row("analyst serve: accepting connections", "1 s")
    health_row = Row("analyst serve: /api/health 200")
    turn_row = Row("analyst serve: first pandas turn done")
    with (
        FakeLLMServer(api_key=None) as fake,
        tempfile.TemporaryDirectory(prefix="cold-start-") as scratch,
    ):
        root = Path(scratch)
        (root / "sales.csv").write_text("month,sales\n1,10\n2,20\n3,30\n")
        for run in range(runs):
            for product, src in products.items():
                plain = python_env(src)
                numpy.add(product, *timed_run([sys.executable, "-c", "import numpy"], plain, root))
                preload_imports = [sys.executable, "-c", "import " + ", ".join(PRELOAD)]
                preload.add(product, timed_run(preload_imports, plain, root)[0])
                kernel.add(product, kernel_with_preload())
                for libraries, floor in floors.items():
                    imports = [sys.executable, "-c", f"import {libraries}"]
                    floor.add(product, timed_run(imports, plain, root)[0])

                def env(
                    command: str, src: Path | None = src, tag: str = f"{product}-{run}"
                ) -> dict[str, str]:
                    return product_env(src, root / f"{command}-{tag}", fake)

                exec_command = [sys.executable, *CLI, "exec", "1+1"]
                exec_row.add(product, *timed_run(exec_command, env("exec"), root))
                fake.add_turns(pandas_turn(), Turn(text="Three rows."))
                chat_command = [sys.executable, *CLI, "chat", "sales.csv", "How many rows?"]
                chat_row.add(product, until_line(chat_command, env("chat"), root, "rows 3"))
                fake.add_turns(pandas_turn(), Turn(text="Done."))
                accepting, health, turn = serve_times(env("serve"), root)
                accept_row.add(product, accepting)
                health_row.add(product, health)
                turn_row.add(product, turn)
            print(f"run {run + 1}/{runs} done", file=sys.stderr)
    return [
        numpy,
        preload,
        kernel,
        *floors.values(),
        exec_row,
        chat_row,
        accept_row,
        health_row,
        turn_row,
    ]


def pandas_turn() -> Turn:
    return Turn(tool_calls=[("execute_code", {"code": PANDAS_CELL})])


def table(rows: list[Row], runs: int, products: list[str]) -> str:
    """Per product: the median (CPU seconds in brackets where measured) and the ratio against
    the baseline its row names. A baseline is plain Python, the same for every product: its
    samples next to all of them are pooled."""
    numpy, preload = (
        statistics.median(itertools.chain.from_iterable(row.samples.values())) for row in rows[:2]
    )
    baselines = {"import numpy": numpy, "import preload list": preload, "1 s": 1.0}
    head = "".join(f" {product} s | ratio |" for product in products)
    lines = [
        f"median of {runs} runs, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end; preload list: {', '.join(PRELOAD)}",
        "",
        f"| what |{head} against |",
        "|---|" + "---:|---:|" * len(products) + "---|",
    ]
    for row in rows:
        cells = ""
        for product in products:
            median = row.median(product)
            cpu = f" ({statistics.median(row.cpu[product]):.2f})" if product in row.cpu else ""
            ratio = f"{median / baselines[row.against]:.2f}x" if row.against else ""
            cells += f" {median:.2f}{cpu} | {ratio} |"
        lines.append(f"| {row.name} |{cells} {row.against} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", type=Path, help="run the product from this src/ directory")
    parser.add_argument(
        "--before",
        type=Path,
        help="also run the product from this src/ directory (e.g. a worktree of an older "
        "commit), interleaved with the other, as 'before'",
    )
    parser.add_argument("--json", type=Path, help="also write the samples here")
    args = parser.parse_args()
    products: dict[str, Path | None] = {}
    if args.before:
        products["before"] = args.before.resolve()
    products["after" if args.before else "median"] = args.src.resolve() if args.src else None
    rows = measure(args.runs, products)
    print(table(rows, args.runs, list(products)))
    if args.json:
        samples = {
            product: {row.name: row.samples[product] for row in rows} for product in products
        }
        args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main()
