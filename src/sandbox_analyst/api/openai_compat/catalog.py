"""The models a caller may use: one per assistant they can read, plus the plain model.

An assistant is listed under a slug of its name ("Sales analyst" -> `sales-analyst`) where
that slug is unique among the caller's assistants, else under its id; requests may name it
either way."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox_analyst.store import Assistant

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    return _NOT_SLUG.sub("-", name.lower()).strip("-")


@dataclass(frozen=True)
class Catalog:
    by_model_id: dict[str, Assistant]  # in listing order

    @classmethod
    def of(cls, assistants: Sequence[Assistant], *, reserved: str) -> Catalog:
        """`reserved`: a model id no assistant may take (the plain model's)."""
        counts = Counter(slug(a.name) for a in assistants)
        by_model_id: dict[str, Assistant] = {}
        for assistant in assistants:
            name = slug(assistant.name)
            unique = name and counts[name] == 1 and name != reserved
            by_model_id[name if unique else assistant.id] = assistant
        return cls(by_model_id)

    def resolve(self, model: str) -> Assistant | None:
        found = self.by_model_id.get(model)
        if found is not None:
            return found
        return next((a for a in self.by_model_id.values() if a.id == model), None)
