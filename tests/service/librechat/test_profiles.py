"""Which execution profile a LibreChat call runs in (`X-CodeAPI-Expected-Profile`)."""

from __future__ import annotations

import pytest

from sandbox_analyst.config import LibreChatSettings
from sandbox_analyst.service.librechat.errors import ProfileMismatch
from sandbox_analyst.service.librechat.service import choose_profile


def test_the_stateful_profile_is_refused_when_no_state_is_kept() -> None:
    off = LibreChatSettings(stateful_keep_s=0)
    assert choose_profile(None, off) == "default"
    assert choose_profile("Stateful", LibreChatSettings()) == "stateful"
    assert choose_profile(None, LibreChatSettings(default_profile="stateful")) == "stateful"
    with pytest.raises(ProfileMismatch, match="stateful_keep_s"):
        choose_profile("stateful", off)
    with pytest.raises(ProfileMismatch, match="unknown execution profile"):
        choose_profile("gpu", LibreChatSettings())
