"""Ids: unguessable, url-safe, and never taken for a command-line option."""

from __future__ import annotations

import math
import re

import pytest

from sandbox_analyst.store import (
    ApiKey,
    Assistant,
    Conversation,
    Execution,
    FileRecord,
    Message,
    User,
    looks_like_id,
    new_id,
)

ID_LENGTH = 22  # as long as the ids made by token_urlsafe(16) before

SAMPLES = 20_000  # with a plain url-safe alphabet, about 600 of these would start with - or _


def test_no_new_id_starts_with_a_dash_or_an_underscore() -> None:
    ids = [new_id() for _ in range(SAMPLES)]
    assert [i for i in ids if i[0] in "-_"] == []
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{21}", i) for i in ids)
    assert len(set(ids)) == SAMPLES


def test_ids_carry_at_least_128_random_bits() -> None:
    ids = [new_id() for _ in range(SAMPLES)]
    first = {i[0] for i in ids}
    rest = {c for i in ids for c in i[1:]}
    # Every character that may appear in each position does appear: the alphabets are full.
    assert len(first) == 62
    assert len(rest) == 64
    assert math.log2(len(first)) + (ID_LENGTH - 1) * math.log2(len(rest)) >= 128


@pytest.mark.parametrize(
    "model", [User, ApiKey, Assistant, Conversation, Message, FileRecord, Execution]
)
def test_every_stored_kind_gets_its_id_from_new_id(model: type) -> None:
    make_id = model.__table__.c.id.default.arg  # SQLAlchemy's wrapper around new_id
    ids = [make_id(None) for _ in range(500)]
    assert all(i[0].isalnum() and len(i) == ID_LENGTH for i in ids)


@pytest.mark.parametrize(
    "old_or_foreign",
    [
        "-Jd0z3lTq2b3uGZc8t1Pkw",  # made by token_urlsafe(16) before the rule
        "_Jd0z3lTq2b3uGZc8t1Pkw",
        "V1StGXR8_Z5jdHi6B-myT",  # 21 characters, the shape of LibreChat's file/session ids
    ],
)
def test_ids_made_before_the_rule_and_foreign_ids_are_still_ids(old_or_foreign: str) -> None:
    assert looks_like_id(old_or_foreign)


@pytest.mark.parametrize("not_an_id", ["", "a/b", "a b", "x" * 65, "é", "a\nb"])
def test_other_strings_are_not_ids(not_an_id: str) -> None:
    assert not looks_like_id(not_an_id)
