"""Builds the starter suite into a directory of its own: the suite file, its input files
(`data/*.csv`, written from the datasets inside scikit-learn and statsmodels) and
`references.json` (the reference answers, computed by references.py from those very files).

`starter_suite(cache_root)` builds it once into `cache_root/starter-<hash>`, the hash over
everything the build reads (the suite file, this package's code, the versions of the libraries
the data and the answers come from): a change to any of them builds afresh, anything else
reuses it. The build goes to a temporary directory renamed into place, so a build that stops
halfway is never taken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata, resources
from pathlib import Path

import pandas as pd

from sandbox_analyst.evaluation.starter.datasets import DATASETS
from sandbox_analyst.evaluation.starter.references import compute_references

SUITE_FILE = "starter.yaml"
DATA_DIR = "data"
REFERENCES_FILE = "references.json"
_SOURCES = ("datasets.py", "references.py", "build.py")
_LIBRARIES = ("pandas", "numpy", "scikit-learn", "statsmodels")


def packaged_suite() -> bytes:
    """The starter suite file as shipped (it names `data/` and `references.json`)."""
    suites = resources.files("sandbox_analyst.evaluation") / "suites"
    return (suites / SUITE_FILE).read_bytes()


def build_starter(directory: Path) -> Path:
    """Write the starter suite, its data and its references into `directory` (made if
    missing; files of the same names are replaced); returns the suite file's path."""
    data = directory / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    frames = {}
    for name, load in DATASETS.items():
        load().to_csv(data / name, index=False)
        frames[name] = pd.read_csv(data / name)
    references = compute_references(frames)
    (directory / REFERENCES_FILE).write_text(json.dumps(references, indent=2, sort_keys=True))
    suite = directory / SUITE_FILE
    suite.write_bytes(packaged_suite())
    return suite


def build_hash() -> str:
    """A digest of everything a build reads."""
    digest = hashlib.sha256(packaged_suite())
    package = resources.files("sandbox_analyst.evaluation.starter")
    for source in _SOURCES:
        digest.update((package / source).read_bytes())
    for library in _LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}".encode())
    return digest.hexdigest()[:16]


def starter_suite(cache_root: Path) -> Path:
    """The starter suite's file in its cached build under `cache_root`, built if needed."""
    target = cache_root / f"starter-{build_hash()}"
    if (target / SUITE_FILE).is_file():
        return target / SUITE_FILE
    cache_root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".starter-", dir=cache_root))
    try:
        build_starter(building)
        try:
            os.rename(building, target)
        except OSError:  # another process built it at the same time: theirs is as good
            if not (target / SUITE_FILE).is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target / SUITE_FILE
