"""The starter suite: 20+ cases on datasets that ship inside scikit-learn and statsmodels,
whose reference answers its own reference code computes at build time (so it runs offline)."""

from sandbox_analyst.evaluation.starter.build import (
    REFERENCES_FILE,
    SUITE_FILE,
    build_hash,
    build_starter,
    packaged_suite,
    starter_suite,
)
from sandbox_analyst.evaluation.starter.datasets import DATASETS
from sandbox_analyst.evaluation.starter.references import REFERENCES, compute_references

__all__ = [
    "DATASETS",
    "REFERENCES",
    "REFERENCES_FILE",
    "SUITE_FILE",
    "build_hash",
    "build_starter",
    "compute_references",
    "packaged_suite",
    "starter_suite",
]
