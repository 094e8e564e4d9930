"""Template build benchmark: what building a template costs on top of installing its wheels.

    uv run python benchmarks/templates.py [--rounds 5]

Offline, against a package index on 127.0.0.1 serving two hand-written wheels (a package and
its dependency), with a warm uv cache. Measured in the same run:
- baseline: `uv pip install --target DIR --no-deps` of the two wheels (the floor: no resolve,
  no lock, no checks);
- a full template build (`TemplateBuilder.build`): resolve against the server's environment,
  lock with hashes, install hash-checked with bytecode, setup code, preload check, switch;
- the same build when nothing changed (what `analyst templates build` costs on every start);
- a separate virtual environment instead of the overlay (`uv venv` + the project's own runtime
  requirements + the package): the design the builder rejects. It cannot even be built from
  this index (it lacks numpy & co), so it installs from PyPI's index through the warm cache.
Prints a Markdown table with medians and ratios against the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import uv

from sandbox_analyst.sandbox.templates import (
    BuildStore,
    PackageIndex,
    TemplateBuilder,
    UvRunner,
    load_spec,
)
from sandbox_analyst.testing.package_index import LocalPackageIndex

TEMPLATE = """\
packages: [bench-probe==1.0]
setup: |
  open("ready.txt", "w").write("ok")
preload: [bench_probe]
"""


def median_s(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--full-venv", action="store_true", help="Also time a separate venv.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="analyst-bench-templates-"))
    try:
        index = LocalPackageIndex(root / "index")
        index.add_wheel("bench-dep", "1.0", {"bench_dep/__init__.py": "VALUE = 1\n"})
        index.add_wheel(
            "bench-probe",
            "1.0",
            {"bench_probe/__init__.py": "from bench_dep import VALUE\n"},
            requires=["bench-dep"],
        )
        (root / "specs").mkdir()
        (root / "specs" / "bench.yaml").write_text(TEMPLATE)
        spec = load_spec(root / "specs" / "bench.yaml")
        with index.serving() as url:
            runner = UvRunner(PackageIndex(url), cache_dir=root / "uv-cache")
            builder = TemplateBuilder(BuildStore(root / "builds"), runner)
            builder.build(spec)  # warm the uv cache

            def plain_install() -> None:
                target = root / "plain"
                shutil.rmtree(target, ignore_errors=True)
                wheels = [str(entry.path) for entry in index.files]
                subprocess.run(
                    [uv.find_uv_bin(), "pip", "install", "-q", "--no-deps", "--target",
                     str(target), "--python", sys.executable, *wheels],
                    check=True, env={"UV_CACHE_DIR": str(root / "uv-cache"), "PATH": "/usr/bin"},
                )  # fmt: skip

            rows = [
                ("uv pip install --target (baseline)", median_s(plain_install, args.rounds)),
                ("template build", median_s(lambda: builder.build(spec, force=True), args.rounds)),
                ("template build, unchanged", median_s(lambda: builder.build(spec), args.rounds)),
            ]
        if args.full_venv:
            requirements = root / "requirements.txt"
            subprocess.run(
                ["uv", "export", "--no-dev", "--no-emit-project", "-q", "-o", str(requirements)],
                check=True,
            )

            def full_venv() -> None:
                venv = root / "venv"
                shutil.rmtree(venv, ignore_errors=True)
                subprocess.run(
                    ["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True
                )
                subprocess.run(
                    ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                     "-r", str(requirements)],
                    check=True,
                )  # fmt: skip

            rows.append(("separate venv (PyPI, warm cache)", median_s(full_venv, args.rounds)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    baseline = rows[0][1]
    print(f"| step (median of {args.rounds}) | seconds | x baseline |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
