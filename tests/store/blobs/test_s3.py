"""The S3 blob store's own ways: objects under the configured prefix, credentials from the
settings or from the AWS client's own chain, and every way the endpoint can be unusable
(missing bucket, refused credentials, nothing listening) said plainly, naming the setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sandbox_analyst.config import S3Settings, StorageSettings
from sandbox_analyst.store import (
    BlobStoreUnavailable,
    LocalBlobStore,
    as_stream,
    create_blob_store,
)
from sandbox_analyst.store.blobs.s3 import S3BlobStore
from sandbox_analyst.testing.s3_server import REGION, LocalS3Server
from tests.conftest import free_port
from tests.store.blobs.conftest import read_all


async def test_blobs_are_objects_under_the_prefix(s3_server: LocalS3Server, bucket: str) -> None:
    store = S3BlobStore(S3Settings(**s3_server.s3_settings(bucket, prefix="/team-a/analyst/")))
    try:
        info = await store.put(as_stream(b"a,b\n1,2\n"))
        assert s3_server.object_keys(bucket) == [f"team-a/analyst/{info.key}"]
        assert store.describe() == (
            f"S3 bucket {bucket!r}, prefix 'team-a/analyst/' at {s3_server.endpoint_url}"
        )
        assert store.path_for(info.key) is None  # downloads stream from the bucket
    finally:
        await store.close()


async def test_the_settings_choose_the_store(
    s3_server: LocalS3Server, bucket: str, tmp_path: Path
) -> None:
    local = create_blob_store(StorageSettings(), tmp_path)
    assert isinstance(local, LocalBlobStore)
    assert local.root == tmp_path / "blobs"
    s3 = create_blob_store(StorageSettings(blobs="s3", s3=s3_server.s3_settings(bucket)), tmp_path)
    try:
        assert isinstance(s3, S3BlobStore)
        await s3.check()
    finally:
        await s3.close()


async def test_without_keys_in_the_settings_the_aws_environment_variables_are_used(
    s3_server: LocalS3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    settings = S3Settings(bucket=bucket, endpoint_url=s3_server.endpoint_url, region=REGION)
    store = S3BlobStore(settings)
    try:
        info = await store.put(as_stream(b"via the client's own credential chain"))
        assert await read_all(store, info.key) == b"via the client's own credential chain"
    finally:
        await store.close()


async def unusable(settings: S3Settings) -> str:
    """The message of the error a store with `settings` gives at its check and at a put."""
    store = S3BlobStore(settings)
    try:
        with pytest.raises(BlobStoreUnavailable) as checked:
            await store.check()
        with pytest.raises(BlobStoreUnavailable) as stored:
            await store.put(as_stream(b"lost?"))
        assert str(stored.value) == str(checked.value)
        return str(checked.value)
    finally:
        await store.close()


async def test_a_missing_bucket_is_named(s3_server: LocalS3Server) -> None:
    message = await unusable(S3Settings(**s3_server.s3_settings("no-such-bucket")))
    assert message == (
        f"blob storage: the bucket 'no-such-bucket' at {s3_server.endpoint_url} does not "
        "exist: create it, or set storage.s3.bucket to an existing one"
    )


async def test_a_wrong_secret_is_refused_credentials(s3_server: LocalS3Server, bucket: str) -> None:
    settings = S3Settings(**s3_server.s3_settings(bucket, secret_access_key="not-the-secret"))
    message = await unusable(settings)
    assert message.startswith(
        f"blob storage: the S3 endpoint {s3_server.endpoint_url} refused the credentials "
        "(SignatureDoesNotMatch"
    )
    assert "storage.s3.secret_access_key" in message
    assert "not-the-secret" not in message


async def test_an_unknown_access_key_is_refused_credentials(
    s3_server: LocalS3Server, bucket: str
) -> None:
    settings = S3Settings(**s3_server.s3_settings(bucket, access_key_id="AKIAUNKNOWNUNKNOWN00"))
    assert "refused the credentials (InvalidAccessKeyId" in await unusable(settings)


async def test_no_credentials_anywhere_is_said_so(s3_server: LocalS3Server, bucket: str) -> None:
    settings = S3Settings(bucket=bucket, endpoint_url=s3_server.endpoint_url, region=REGION)
    message = await unusable(settings)
    assert message.startswith("blob storage: no S3 credentials found: set storage.s3.")
    assert "AWS_ACCESS_KEY_ID" in message


async def test_an_endpoint_with_nothing_listening_cannot_be_reached(
    s3_server: LocalS3Server,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    settings = S3Settings(**s3_server.s3_settings("analyst", endpoint_url=endpoint))
    assert await unusable(settings) == (
        f"blob storage: cannot reach the S3 endpoint {endpoint}: Connection refused "
        "(check storage.s3.endpoint_url)"
    )


def test_without_the_s3_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "sandbox_analyst.store.blobs.s3", None)  # not importable
    with pytest.raises(BlobStoreUnavailable, match=r"pip install 'sandbox-analyst\[s3\]'"):
        create_blob_store(StorageSettings(blobs="s3", s3=S3Settings(bucket="b")), tmp_path)
