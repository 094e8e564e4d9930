"""A full disk, for real: `analyst serve` runs in a private mount namespace whose blob store
is a tiny tmpfs, filled up. Uploads that do not fit are a clear 507 `storage_full` (no reset,
no half-written file, no row), smaller ones still work, and a turn whose charts and files do
not fit ends normally, telling the model and the user what was not kept.

Mounting needs root (CAP_SYS_ADMIN) and `unshare`; elsewhere the test is skipped."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import parse_events
from tests.api.conftest import CSV_BYTES, bearer
from tests.conftest import LiveServer

TMPFS_KB = 2048
FREE_KB = 256  # what is left in the blob store once it is filled
# Writes a file and draws a chart too large for what is left, and a small file that fits.
CODE = (
    "import numpy as np, matplotlib.pyplot as plt\n"
    "open('big.csv', 'w').write('x\\n' * 300_000)\n"
    "open('small.txt', 'w').write('fits')\n"
    "plt.figure(figsize=(8, 8)); plt.imshow(np.random.rand(800, 800)); plt.show()\n"
)
# Mounts the tmpfs over the blob store, fills it, then becomes the server.
FILL_THEN_SERVE = (
    f'mkdir -p "$BLOBS" && mount -t tmpfs -o size={TMPFS_KB}k tmpfs "$BLOBS" '
    f'&& head -c {TMPFS_KB - FREE_KB}k /dev/zero > "$BLOBS/filler" && exec "$@"'
)


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _can_mount(), reason="needs root and unshare to mount a tmpfs in a mount namespace"
)


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def full_server(
    settings: Settings, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, str]]:
    async def seed() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("filler")
            return (await services.users.create_key(user.id)).secret

    key = asyncio.run(seed())
    for name, value in {
        "BLOBS": str(settings.data_dir / "blobs"),
        "ANALYST_LLM__BASE_URL": fake.openai_base_url,
        "ANALYST_LLM__API_KEY": "test-key",
        "ANALYST_LLM__MODEL": "test-model",
        "ANALYST_SANDBOX__POOL_SIZE": "1",
        "ANALYST_SANDBOX__PRELOAD": '["numpy", "matplotlib.pyplot"]',
    }.items():
        monkeypatch.setenv(name, value)
    server = LiveServer(settings, wrapper=["unshare", "-m", "sh", "-c", FILL_THEN_SERVE, "sh"])
    server.start()
    try:
        yield server, key
    finally:
        server.stop()


def in_namespace(server: LiveServer, path: Path) -> Path:
    """`path` as the server sees it (inside its mount namespace)."""
    assert server.process is not None
    return Path(f"/proc/{server.process.pid}/root") / path.relative_to("/")


def leftovers(server: LiveServer) -> list[str]:
    tmp = in_namespace(server, server.settings.data_dir / "blobs" / "tmp")
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def test_an_upload_that_does_not_fit_is_507_and_leaves_nothing(
    full_server: tuple[LiveServer, str],
) -> None:
    server, key = full_server
    with httpx.Client(base_url=server.base_url, headers=bearer(key), timeout=60) as http:
        too_big = CSV_BYTES + b"Rome,1\n" * 100_000  # 700 KB: the server reads it all first
        refused = http.post("/api/files", files={"file": ("big.csv", too_big)})
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_full"
        assert "storage is full" in error["message"]
        assert http.get("/api/files").json() == []
        assert leftovers(server) == []

        fits = http.post("/api/files", files={"file": ("small.csv", CSV_BYTES)})
        assert fits.status_code == 201, fits.text
        content = http.get(f"/api/files/{fits.json()['id']}/content")
        assert content.content == CSV_BYTES


def test_a_turn_whose_artifacts_do_not_fit_ends_and_says_so(
    full_server: tuple[LiveServer, str], fake: FakeLLMServer
) -> None:
    server, key = full_server
    fake.add_turns(
        Turn(text="Running it.", tool_calls=[("execute_code", {"code": CODE})]),
        lambda body: Turn(text=f"Done. {last_tool_result(body)}"),
    )
    with httpx.Client(base_url=server.base_url, headers=bearer(key), timeout=120) as http:
        assistant = http.post("/api/assistants", json={"name": "full"}).json()
        conversation = http.post(
            "/api/conversations", json={"assistant_id": assistant["id"]}
        ).json()
        response = http.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"content": "Make files"},
            headers={"Accept": "text/event-stream"},
        )
        assert response.status_code == 200, response.text
        events = parse_events(response.text)
        stored = http.get(f"/api/conversations/{conversation['id']}").json()["messages"][-1]
        files = {f["name"] for f in http.get("/api/files").json()}

    names = [name for name, _ in events]
    end: dict[str, Any] = events[-1][1]
    assert names[-1] == "message_end"
    assert end["status"] == "complete", end
    notices = [data for name, data in events if name == "error"]
    assert {n["code"] for n in notices} == {"storage_full"}
    assert any("big.csv" in n["message"] for n in notices)
    assert any("figure-1.png" in n["message"] for n in notices)
    # What fitted was kept; what did not was not, and the model was told which and why.
    assert files == {"small.txt"}
    observation = last_tool_result(fake.model_requests[-1].json or {}) or ""
    assert "big.csv: not saved (the server's storage is full" in observation
    assert "figure-1.png could not be saved" in observation
    assert stored["status"] == "complete"
    assert "storage is full" in (stored["error"] or "")
    assert leftovers(server) == []
    assert json.dumps(events)  # every event was well-formed JSON
