"""Blobs as objects in an S3-compatible bucket: how replicas on several machines share the
uploads and artifacts their shared database points to.

The client is boto3 (botocore), the AWS SDK itself, which every S3-compatible server is tested
against; its calls block, so each runs on this store's own threads (never the event loop's
default executor: a stalled endpoint must not starve the rest of the process). Uploads stream:
one request for a small blob, a multipart upload in PART_SIZE parts for a large one, which
S3 makes visible only once complete and which is aborted on any failure: all or nothing, like
the local store. Downloads stream in CHUNK_SIZE reads and are never held whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sandbox_analyst.config import S3Settings
from sandbox_analyst.store.blobs.errors import BlobNotFound, BlobStoreUnavailable, BlobTooLarge
from sandbox_analyst.store.blobs.interface import CHUNK_SIZE, BlobInfo, BlobStore, is_key, new_key
from sandbox_analyst.store.blobs.s3_failures import error_code, explain
from sandbox_analyst.store.capacity import StorageFullError

logger = logging.getLogger(__name__)

# S3 wants parts of 5 MiB at least (but the last); 8 MiB is what AWS's own transfer tools use.
PART_SIZE = 8 * 1024 * 1024
_T = TypeVar("_T")


class S3BlobStore(BlobStore):
    def __init__(self, settings: S3Settings) -> None:
        if not settings.bucket:
            raise BlobStoreUnavailable("blob storage: storage.s3.bucket is not set")
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.endpoint = settings.endpoint_url or "AWS S3"
        secret = settings.secret_access_key
        config = Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=settings.max_connections,
            s3={"addressing_style": settings.addressing_style},
        )
        try:
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=settings.endpoint_url,
                region_name=settings.region,
                aws_access_key_id=settings.access_key_id,
                aws_secret_access_key=secret.get_secret_value() if secret else None,
                config=config,
            )
        except (BotoCoreError, ValueError) as exc:
            raise BlobStoreUnavailable(f"blob storage: cannot set up the S3 client: {exc}") from exc
        self._threads = ThreadPoolExecutor(settings.max_connections, thread_name_prefix="s3-blobs")

    def describe(self) -> str:
        prefix = f", prefix {self.prefix!r}" if self.prefix else ""
        return f"S3 bucket {self.bucket!r}{prefix} at {self.endpoint}"

    def _object_key(self, key: str) -> str:
        if not is_key(key):
            raise BlobNotFound(key)
        return f"{self.prefix}{key}"

    def _submit(self, function: Callable[..., _T], /, **kwargs: Any) -> Future[_T]:
        return self._threads.submit(function, **kwargs)

    async def _settle(self, request: Future[_T], *, key: str | None = None) -> _T:
        """The result of a submitted request; its failure as our error (BlobNotFound for a
        missing `key`)."""
        try:
            return await asyncio.wrap_future(request)
        except ClientError as exc:
            if key is not None and error_code(exc) in ("NoSuchKey", "404"):
                raise BlobNotFound(key) from None
            raise explain(exc, bucket=self.bucket, endpoint=self.endpoint) from exc
        except BotoCoreError as exc:
            raise explain(exc, bucket=self.bucket, endpoint=self.endpoint) from exc

    async def _call(self, function: Callable[..., _T], /, **kwargs: Any) -> _T:
        return await self._settle(self._submit(function, **kwargs))

    async def check(self) -> None:
        # Listing (not HEAD) because its error body names the problem: NoSuchBucket,
        # InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied...
        await self._call(
            self._client.list_objects_v2, Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1
        )

    async def put(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> BlobInfo:
        key = new_key()
        upload = _Upload(self, self._object_key(key))
        digest = hashlib.sha256()
        size = 0
        pending = bytearray()
        try:
            async for chunk in stream:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                digest.update(chunk)
                pending += chunk
                if len(pending) >= PART_SIZE:
                    await upload.part(bytes(pending))
                    pending.clear()
            await upload.finish(bytes(pending))
        except BaseException:
            await asyncio.shield(upload.discard())
            raise
        return BlobInfo(key=key, size=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        request = self._submit(
            self._client.get_object, Bucket=self.bucket, Key=self._object_key(key)
        )
        body = (await self._settle(request, key=key))["Body"]
        try:
            while chunk := await self._call(body.read, amt=CHUNK_SIZE):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        try:
            object_key = self._object_key(key)
        except BlobNotFound:
            return
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=object_key)

    async def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._client.close()


class _Upload:
    """One blob on its way into the bucket: a single PUT when it fits in one part, a
    multipart upload otherwise; `discard` removes whatever of it may have arrived."""

    def __init__(self, store: S3BlobStore, object_key: str) -> None:
        self._store = store
        self._client = store._client
        self._target = {"Bucket": store.bucket, "Key": object_key}
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._sent = False  # a request that may have created the object went out
        self._in_flight: Future[Any] | None = None

    async def _request(self, function: Callable[..., _T], /, **kwargs: Any) -> _T:
        # Kept so that `discard` waits for it: a cancelled await leaves the thread running.
        self._in_flight = self._store._submit(function, **kwargs)
        return await self._store._settle(self._in_flight)

    async def part(self, data: bytes) -> None:
        if self._upload_id is None:
            created = await self._request(self._client.create_multipart_upload, **self._target)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        uploaded = await self._request(
            self._client.upload_part,
            **self._target,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"PartNumber": number, "ETag": uploaded["ETag"]})

    async def finish(self, rest: bytes) -> None:
        if self._upload_id is None:
            self._sent = True
            await self._request(self._client.put_object, **self._target, Body=rest)
            return
        if rest:
            await self.part(rest)
        self._sent = True
        await self._request(
            self._client.complete_multipart_upload,
            **self._target,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    async def discard(self) -> None:
        if self._in_flight is not None and not self._in_flight.done():
            await asyncio.wait([asyncio.wrap_future(self._in_flight)])
        # Best effort: an endpoint that just failed may fail again; the object then stays
        # behind under a key no record points to, which nobody can reach.
        with contextlib.suppress(BlobStoreUnavailable, StorageFullError):
            if self._upload_id is not None:
                await self._store._call(
                    self._client.abort_multipart_upload, **self._target, UploadId=self._upload_id
                )
            if self._sent:
                await self._store._call(self._client.delete_object, **self._target)
