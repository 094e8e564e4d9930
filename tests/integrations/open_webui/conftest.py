"""The Open WebUI Pipe (integrations/open-webui/sandbox_analyst_pipe.py) against a real
running server (`live_url`: the app behind uvicorn on 127.0.0.1, the scripted fake LLM, real
sandboxes). Open WebUI itself is not installed: the two Open WebUI modules the Pipe imports
(its file table and its storage) are stubbed, and nothing else; the Pipe is called as Open
WebUI calls it (`pipe(body, __user__=..., __chat_id__=..., __files__=..., ...)`)."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX

PIPE_PATH = Path(__file__).parents[3] / "integrations" / "open-webui" / "sandbox_analyst_pipe.py"


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        llm=fake_llm_settings(fake),
    )


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@pytest.fixture(scope="session")
def pipe_module() -> ModuleType:
    """The Pipe's file, loaded the way Open WebUI loads a Function: as a module of its own."""
    spec = importlib.util.spec_from_file_location("sandbox_analyst_pipe", PIPE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as Open WebUI does with a Function's module
    spec.loader.exec_module(module)
    return module


@dataclass
class StoredFile:
    """What Open WebUI's `Files.get_file_by_id` returns (the fields the Pipe reads)."""

    id: str
    filename: str
    path: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class OpenWebUIFiles:
    """Open WebUI's file table and storage, stubbed: files "uploaded in Open WebUI"."""

    root: Path
    by_id: dict[str, StoredFile] = field(default_factory=dict)

    def add(self, file_id: str, filename: str, data: bytes, content_type: str) -> dict[str, Any]:
        """A file as attached to a chat message; returns the `__files__` item Open WebUI
        passes for it."""
        stored = self.root / f"{file_id}_{filename}"
        stored.write_bytes(data)
        meta = {"name": filename, "content_type": content_type, "size": len(data)}
        self.by_id[file_id] = StoredFile(file_id, filename, f"uploads/{stored.name}", meta)
        return {
            "type": "file",
            "id": file_id,
            "name": filename,
            "url": f"/api/v1/files/{file_id}",
            "status": "uploaded",
            "size": len(data),
            "file": {"id": file_id, "filename": filename, "meta": meta},
        }


@pytest.fixture
def open_webui_files(tmp_path: Path) -> Iterator[OpenWebUIFiles]:
    files = OpenWebUIFiles(tmp_path / "open-webui-uploads")
    files.root.mkdir()

    class Files:  # async, as in Open WebUI 0.12.4 (`open_webui/models/files.py`)
        @staticmethod
        async def get_file_by_id(file_id: str) -> StoredFile | None:
            return files.by_id.get(file_id)

    class Storage:
        @staticmethod
        def get_file(path: str) -> str:
            return str(files.root / Path(path).name)

    modules = {
        "open_webui": types.ModuleType("open_webui"),
        "open_webui.models": types.ModuleType("open_webui.models"),
        "open_webui.models.files": types.ModuleType("open_webui.models.files"),
        "open_webui.storage": types.ModuleType("open_webui.storage"),
        "open_webui.storage.provider": types.ModuleType("open_webui.storage.provider"),
    }
    modules["open_webui.models.files"].Files = Files  # type: ignore[attr-defined]
    modules["open_webui.storage.provider"].Storage = Storage  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    yield files
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
