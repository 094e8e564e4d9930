"""The API on S3 blob storage (`storage.blobs: s3`, a bucket on the S3-compatible server on
127.0.0.1): uploads go to the bucket and come back from it, and a bucket that is missing is
a refusal to start, or a 503 that names it, never a 500 or half a record."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings, StorageSettings
from sandbox_analyst.service import Services
from sandbox_analyst.store import BlobStoreUnavailable, FileRecord
from sandbox_analyst.testing.s3_server import LocalS3Server
from tests.api.conftest import CSV_BYTES, World


@pytest.fixture
def bucket(s3_server: LocalS3Server) -> str:
    return s3_server.create_bucket()


pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def app_settings(settings: Settings, s3_server: LocalS3Server, bucket: str) -> Settings:
    storage = StorageSettings(blobs="s3", s3=s3_server.s3_settings(bucket, prefix="blobs"))
    return settings.model_copy(update={"storage": storage})


async def storage_key(services: Services, file_id: str) -> str:
    async with services.db.session() as session:
        record = await session.get(FileRecord, file_id)
    assert record is not None
    return record.storage_key


def remove_bucket(s3_server: LocalS3Server, bucket: str) -> None:
    for key in s3_server.object_keys(bucket):
        s3_server.client().delete_object(Bucket=bucket, Key=key)
    s3_server.client().delete_bucket(Bucket=bucket)


async def test_an_upload_is_an_object_in_the_bucket_and_downloads_from_it(
    client: httpx.AsyncClient,
    world: World,
    services: Services,
    s3_server: LocalS3Server,
    bucket: str,
) -> None:
    file_id, owner = world.ids["file"], world.headers("owner")
    # The world's other stored bytes (its finished task's file) are objects there too.
    others = set(s3_server.object_keys(bucket))
    upload = f"blobs/{await storage_key(services, file_id)}"
    assert upload in others
    others.discard(upload)
    assert not (services.settings.data_dir / "blobs").exists()

    download = await client.get(f"/api/files/{file_id}/content", headers=owner)
    assert download.status_code == 200
    assert download.content == CSV_BYTES
    assert download.headers["content-length"] == str(len(CSV_BYTES))
    preview = await client.get(f"/api/files/{file_id}/preview", headers=owner)
    assert preview.status_code == 200, preview.text
    assert preview.json()["columns"] == ["city", "sales"]

    assert (await client.delete(f"/api/files/{file_id}", headers=owner)).status_code == 204
    assert set(s3_server.object_keys(bucket)) == others


async def test_a_blob_gone_from_the_bucket_is_a_404_before_any_byte(
    client: httpx.AsyncClient,
    world: World,
    services: Services,
    s3_server: LocalS3Server,
    bucket: str,
) -> None:
    file_id = world.ids["file"]
    key = await storage_key(services, file_id)
    s3_server.client().delete_object(Bucket=bucket, Key=f"blobs/{key}")
    response = await client.get(f"/api/files/{file_id}/content", headers=world.headers("owner"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "the content of sales.csv is missing from storage"


async def test_a_bucket_gone_missing_is_a_503_that_names_it_and_nothing_is_recorded(
    client: httpx.AsyncClient, world: World, s3_server: LocalS3Server, bucket: str
) -> None:
    owner = world.headers("owner")
    listed = (await client.get("/api/files", headers=owner)).json()
    remove_bucket(s3_server, bucket)

    upload = await client.post(
        "/api/files", files={"file": ("more.csv", CSV_BYTES, "text/csv")}, headers=owner
    )
    assert upload.status_code == 503
    error = upload.json()["error"]
    assert error["code"] == "storage_unavailable"
    assert f"the bucket {bucket!r}" in error["message"]
    assert "does not exist" in error["message"]
    assert (await client.get("/api/files", headers=owner)).json() == listed

    download = await client.get(f"/api/files/{world.ids['file']}/content", headers=owner)
    assert download.status_code == 503
    assert download.json()["error"]["code"] == "storage_unavailable"


async def test_the_app_refuses_to_start_without_its_bucket(
    settings: Settings, s3_server: LocalS3Server
) -> None:
    storage = StorageSettings(blobs="s3", s3=s3_server.s3_settings("never-created"))
    app = create_app(settings.model_copy(update={"storage": storage}))
    with pytest.raises(BlobStoreUnavailable, match=r"the bucket 'never-created' at .* does not"):
        async with app.router.lifespan_context(app):
            pass
