"""Assistants as model ids: a slug of the name where unique, else the id."""

from __future__ import annotations

from sandbox_analyst.api.openai_compat.catalog import Catalog, slug
from sandbox_analyst.store import Assistant


def assistant(id_: str, name: str) -> Assistant:
    return Assistant(id=id_, name=name, owner_id="u")


def test_slugs() -> None:
    assert slug("Sales analyst (EU)") == "sales-analyst-eu"
    assert slug("***") == ""


def test_unique_slugs_name_models_and_clashes_fall_back_to_ids() -> None:
    sales, twin_a, twin_b, symbols, plain = (
        assistant("id1", "Sales"),
        assistant("id2", "Twin"),
        assistant("id3", "twin"),
        assistant("id4", "!!!"),
        assistant("id5", "Analyst plain"),
    )
    catalog = Catalog.of([sales, twin_a, twin_b, symbols, plain], reserved="analyst-plain")

    assert list(catalog.by_model_id) == ["sales", "id2", "id3", "id4", "id5"]
    assert catalog.resolve("sales") is sales
    assert catalog.resolve("id1") is sales
    assert catalog.resolve("twin") is None
    assert catalog.resolve("analyst-plain") is None
