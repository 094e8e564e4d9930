"""A package index on 127.0.0.1 serving wheels these fixtures write by hand (and one package
offered only as an sdist), so that builds and installs run offline against real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.templates import BuildStore, PackageIndex, TemplateBuilder, UvRunner
from sandbox_analyst.testing.package_index import LocalPackageIndex

MIB = 1024 * 1024


@dataclass(frozen=True)
class ProbeIndex:
    index: LocalPackageIndex
    url: str
    canary: Path
    """Created by the sdist's setup.py if anything ever builds it."""

    @property
    def packages(self) -> PackageIndex:
        return PackageIndex(self.url)


def _probe(version: str) -> str:
    return f"from probe_dep import VALUE as DEP\nVALUE = 'probe {version}'\n"


@pytest.fixture(scope="session")
def probe_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeIndex]:
    root = tmp_path_factory.mktemp("package-index")
    index = LocalPackageIndex(root / "files")
    index.add_wheel("analyst-probe-dep", "1.0", {"probe_dep/__init__.py": "VALUE = 'dep 1.0'\n"})
    for version in ("1.0", "2.0"):
        index.add_wheel(
            "analyst-probe",
            version,
            {"analyst_probe/__init__.py": _probe(version)},
            requires=["analyst-probe-dep>=1.0"],
        )
    index.add_wheel(
        "analyst-extra",
        "1.0",
        {"analyst_extra/__init__.py": "from probe_dep import VALUE as DEP\nEXTRA = 'extra 1.0'\n"},
        requires=["analyst-probe-dep"],
    )
    canary = root / "sdist-was-built"
    index.add_sdist("sdist-only", "1.0", canary=canary)
    # Random bytes do not compress: the wheel itself is 2 MiB.
    index.add_wheel(
        "big-blob", "1.0", {"big_blob/__init__.py": "", "big_blob/blob.bin": os.urandom(2 * MIB)}
    )
    # Zeros compress to almost nothing: a small download that unpacks to 8 MiB.
    index.add_wheel(
        "zip-bomb", "1.0", {"zip_bomb/__init__.py": "", "zip_bomb/zeros.bin": bytes(8 * MIB)}
    )
    # The server's environment has tabulate 0.10: a template cannot replace it.
    index.add_wheel("tabulate", "0.0.1", {"tabulate/__init__.py": "OLD = True\n"})
    with index.serving() as url:
        yield ProbeIndex(index, url, canary)


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def uv_runner(probe_index: ProbeIndex, uv_cache: Path) -> UvRunner:
    return UvRunner(probe_index.packages, cache_dir=uv_cache)


@pytest.fixture
def builder(tmp_path: Path, uv_runner: UvRunner) -> TemplateBuilder:
    return TemplateBuilder(BuildStore(tmp_path / "data" / "templates"), uv_runner)


def write_template(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path
