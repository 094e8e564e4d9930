"""`analyst chat`: one-shot questions in-process (the service embedded, real sandboxes, the
scripted fake LLM), `--json` for scripts, `-i` for a conversation, a remote server with a
key, and clear errors with exit codes instead of tracebacks."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.cli.chat_session import save_artifact
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.cli.conftest import use_fake_model
from tests.conftest import LiveServer, free_port

CSV = "month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint('total', df.sales.sum())\n"
    "df.plot.bar(x='month', y='sales')\nplt.show()"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def workdir(
    tmp_path: Path, database_url: str, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The current directory, holding sales.csv; settings point at the fake LLM."""
    use_fake_model(
        monkeypatch,
        tmp_path / "data",
        database_url,
        fake,
        preload=["pandas", "matplotlib.pyplot"],
        max_retries=None,
    )
    monkeypatch.delenv("ANALYST_SERVER_URL", raising=False)
    monkeypatch.delenv("ANALYST_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text(CSV)
    return tmp_path


def chart_turns() -> list[object]:
    return [
        Turn(text="Let me plot it.", tool_calls=[("execute_code", {"code": PLOT})]),
        lambda body: Turn(text=f"Here is the chart. {last_tool_result(body)}"),
    ]


def chat(*arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["chat", *arguments], input=stdin)


def test_the_answer_streams_and_the_chart_is_saved(workdir: Path, fake: FakeLLMServer) -> None:
    fake.add_turns(*chart_turns())

    result = chat("sales.csv", "Plot sales by month", "--output", "charts")

    assert result.exit_code == 0, result.output
    assert "import matplotlib.pyplot as plt" in result.stdout  # the code step is shown
    assert "total 33" in result.stdout  # its output
    assert "Here is the chart." in result.stdout  # the answer
    saved = workdir / "charts" / "figure-1.png"
    assert saved.read_bytes().startswith(PNG_MAGIC)
    assert str(Path("charts") / "figure-1.png") in result.stdout
    asked = fake.model_requests[0].json or {}
    assert "Plot sales by month" in json.dumps(asked["messages"])


def test_json_prints_only_a_document_and_reads_the_question_from_stdin(
    workdir: Path, fake: FakeLLMServer
) -> None:
    fake.add_turns(*chart_turns())

    result = chat("sales.csv", "-", "--json", stdin="Plot sales by month\n")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "complete"
    assert document["message"].startswith("Here is the chart.")
    assert document["conversation_id"]
    assert [u["name"] for u in document["uploads"]] == ["sales.csv"]
    (artifact,) = document["artifacts"]
    assert artifact["media_type"] == "image/png"
    assert (workdir / artifact["path"]).read_bytes().startswith(PNG_MAGIC)


def test_interactive_mode_keeps_the_sandbox_between_questions(
    workdir: Path, fake: FakeLLMServer
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "x = 41"})]),
        Turn(text="x is set."),
        Turn(tool_calls=[("execute_code", {"code": "print(x + 1)"})]),
        lambda body: Turn(text=f"x + 1 gives {last_tool_result(body)}"),
    )

    result = chat("set x to 41", "-i", stdin="what is x + 1?\nexit\n")

    assert result.exit_code == 0, result.output
    assert "x is set." in result.stdout
    assert "42" in result.stdout.split("x is set.")[1]
    assert "NameError" not in result.output


def test_a_turn_that_fails_exits_1_and_its_json_says_why(
    workdir: Path, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_LLM__MAX_RETRIES", "0")
    fake.add_turns(Turn(error_status=500, error_message="the model is down"))

    result = chat("Hi", "--json")

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    assert document["error"]


def test_a_turn_refused_by_a_quota_exits_3_with_the_message(
    workdir: Path, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_QUOTAS__TURNS_PER_DAY", "0")  # every user's default: none
    fake.add_turns(Turn(text="never asked"))

    result = chat("Hello?")

    assert result.exit_code == 3, result.output  # ExitCode.UNAVAILABLE
    assert "quota exceeded: turns_per_day" in result.output
    assert "HTTP 429" in result.output
    assert fake.model_requests == []


def test_a_remote_server_takes_a_key_and_refuses_a_bad_one(
    workdir: Path, fake: FakeLLMServer, settings: Settings
) -> None:
    async def create_key() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("ada")
            return (await services.users.create_key(user.id)).secret

    key = asyncio.run(create_key())
    server = LiveServer(settings)
    server.start()
    try:
        fake.add_turns(Turn(text="Hello from the server."))
        answered = chat("sales.csv", "Hi", "--server", server.base_url, "--key", key, "--json")
        refused = chat("sales.csv", "Hi", "--server", server.base_url, "--key", "sa_wrong")
    finally:
        server.stop()

    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["message"] == "Hello from the server."
    assert refused.exit_code == 3
    assert "refused the API key" in refused.stderr
    assert "Traceback" not in refused.output


def test_a_missing_file_is_named_and_nothing_runs(workdir: Path, fake: FakeLLMServer) -> None:
    result = chat("sales.csv", "nowhere.csv", "Plot it")

    assert result.exit_code == 2
    assert "no such file: nowhere.csv" in result.stderr
    assert fake.requests == []


def test_json_output_cannot_be_interactive(workdir: Path) -> None:
    result = chat("sales.csv", "Hi", "--json", "-i")

    assert result.exit_code == 2
    assert "cannot be combined with --interactive" in " ".join(result.stderr.split())
    assert result.stdout == ""


def test_an_unreachable_server_is_named(workdir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = chat("Hi", "--server", url)

    assert result.exit_code == 3
    assert f"cannot reach server at {url}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_saved_files_never_overwrite_earlier_ones(tmp_path: Path) -> None:
    paths = [save_artifact(tmp_path / "out", "chart.png", bytes([n])) for n in range(3)]

    assert [p.name for p in paths] == ["chart.png", "chart-1.png", "chart-2.png"]
    assert [p.read_bytes() for p in paths] == [b"\x00", b"\x01", b"\x02"]


def test_a_name_from_the_server_cannot_leave_the_output_dir(tmp_path: Path) -> None:
    path = save_artifact(tmp_path / "out", "../../escape.txt", b"data")

    assert path == tmp_path / "out" / "escape.txt"


def test_ctrl_c_cancels_the_running_turn_and_the_prompt_goes_on(
    workdir: Path, fake: FakeLLMServer
) -> None:
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": SLOW_CODE})]),
        Turn(text="Still here."),
    )
    command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "chat", "-i", "take your time"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for(lines, "sleeping")
        process.send_signal(signal.SIGINT)
        wait_for(lines, "turn cancelled")
        process.stdin.write("are you there?\nexit\n")
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    reader.join(timeout=10)

    output = "".join(lines)
    assert "Still here." in output.split("turn cancelled")[1]
    assert "Traceback" not in output


SLOW_CODE = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)"


def wait_for(lines: list[str], text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, f"{text!r} never came:\n{''.join(lines)}"
        time.sleep(0.05)


def test_an_assistant_id_starting_with_a_dash_is_taken_as_the_id(
    workdir: Path, fake: FakeLLMServer
) -> None:
    # Ids made before ids stopped starting with `-` may still be stored.
    result = chat("--assistant", "-NoSuchAssistant000000", "--", "sales.csv", "Hi")

    assert result.exit_code == 3, result.output
    assert "assistant not found" in result.stderr
    assert fake.requests == []


def test_a_server_that_stops_during_the_answer_is_explained(
    workdir: Path, fake: FakeLLMServer, settings: Settings
) -> None:
    async def create_key() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("eve")
            return (await services.users.create_key(user.id)).secret

    key = asyncio.run(create_key())
    fake.add_turns(Turn(text="Working.", tool_calls=[("execute_code", {"code": SLOW_CODE})]))
    server = LiveServer(settings)
    server.start()
    command = [sys.executable, "-c", "from sandbox_analyst.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "chat", "--server", server.base_url, "--key", key, "take your time"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for(lines, "sleeping")
        server.kill()
        assert process.wait(timeout=60) == 3
    finally:
        process.kill()
        server.stop()
    reader.join(timeout=10)

    output = " ".join("".join(lines).split())
    assert "The server stopped during the answer" in output
    assert "reads 'interrupted' once the server runs again" in output
    assert "Traceback" not in output
