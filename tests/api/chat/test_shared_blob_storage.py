"""A chat turn on S3 blob storage: the upload the code reads and the chart it saves travel
through the bucket, and a second replica (its own data directory, the same database and
bucket) serves both byte for byte: how replicas on several machines share their files. A chart
the bucket cannot take is reported to the user and the model, and the turn goes on."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.config import Settings, StorageSettings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from sandbox_analyst.testing.s3_server import LocalS3Server
from tests.api.chat.conftest import Chatter
from tests.api.chat.test_turns import CSV, PNG_MAGIC, answer_quoting_output, chart_script
from tests.fixtures.apps import running_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def bucket(s3_server: LocalS3Server) -> str:
    return s3_server.create_bucket()


@pytest.fixture
def app_settings(app_settings: Settings, s3_server: LocalS3Server, bucket: str) -> Settings:
    storage = StorageSettings(blobs="s3", s3=s3_server.s3_settings(bucket, prefix="analyst"))
    return app_settings.model_copy(update={"storage": storage})


async def test_uploads_and_charts_travel_through_the_bucket_to_every_replica(
    fake: FakeLLMServer,
    alice: Chatter,
    app_settings: Settings,
    sandbox_sessions: SessionManager,
    s3_server: LocalS3Server,
    bucket: str,
) -> None:
    upload_id = await alice.upload("sales.csv", CSV)
    fake.add_turns(*chart_script())

    reply = await alice.ask("Plot sales by month")

    assert reply.end["status"] == "complete"
    assert "total 33" in reply.stdout  # the code read the upload, restored from the bucket
    artifact = reply.of("artifact")[0]
    chart = await alice.client.get(artifact["url"], headers=alice.headers)
    assert chart.status_code == 200
    assert chart.content.startswith(PNG_MAGIC)
    assert len(s3_server.object_keys(bucket)) == 2
    assert all(key.startswith("analyst/") for key in s3_server.object_keys(bucket))
    assert not (app_settings.data_dir / "blobs").exists()

    other_dir = app_settings.data_dir.parent / "replica-data"
    replica_settings = app_settings.model_copy(update={"data_dir": other_dir})
    async with running_app(replica_settings, sandbox_sessions) as replica:
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as http:
            upload = await http.get(f"/api/files/{upload_id}/content", headers=alice.headers)
            chart_there = await http.get(artifact["url"], headers=alice.headers)
    assert upload.content == CSV
    assert chart_there.content == chart.content
    assert not (other_dir / "blobs").exists()


async def test_a_chart_the_bucket_cannot_take_is_not_saved_and_the_turn_goes_on(
    fake: FakeLLMServer, alice: Chatter, s3_server: LocalS3Server, bucket: str
) -> None:
    s3_server.client().delete_bucket(Bucket=bucket)  # an operator's mistake, mid-life
    plot = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nprint('plotted')"
    fake.add_turns(
        Turn(text="Plotting.", tool_calls=[("execute_code", {"code": plot})]),
        answer_quoting_output("Done:"),
    )

    reply = await alice.ask("Plot 1, 2, 3")

    assert reply.end["status"] == "complete"
    assert reply.of("artifact") == []
    [error] = reply.of("error")
    assert f"the bucket {bucket!r}" in error["message"]
    assert "does not exist" in error["message"]
    # The model was told too, in the observation of its code.
    observation = last_tool_result(fake.model_requests[-1].json or {}) or ""
    assert "plotted" in observation
    assert "does not exist" in observation
