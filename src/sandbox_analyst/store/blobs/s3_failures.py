"""What a failed S3 request means for the operator: botocore's exceptions turned into our
errors, with the setting to change named (never a traceback)."""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable

from sandbox_analyst.store.blobs.errors import BlobError, BlobStoreUnavailable
from sandbox_analyst.store.capacity import StorageFullError

_BAD_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
    }
)
# MinIO and Ceph say so when their disks or the bucket's quota are full.
_FULL = frozenset({"XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded"})
_CREDENTIALS_HINT = (
    "set storage.s3.access_key_id and storage.s3.secret_access_key (ANALYST_STORAGE__S3__...), "
    "or leave both unset for AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role"
)


def _reason(exc: BotoCoreError) -> str:
    """`Connection refused`, `Name or service not known`...: what the OS said, not the URL
    of the request."""
    below = str(getattr(exc, "kwargs", {}).get("error", "")) or str(exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", below)
    return found.group(1).strip() if found else below


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def explain(exc: BotoCoreError | ClientError, *, bucket: str, endpoint: str) -> BlobError:
    """The error to raise for `exc`, a failed request to `bucket` at `endpoint`."""
    where = f"bucket {bucket!r} at {endpoint}"
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = exc.response.get("Error", {}).get("Message") or code
        if code in _FULL:
            return StorageFullError(f"the S3 storage is full ({code}): nothing was stored")
        if code == "NoSuchBucket" or (status == 404 and code in ("404", "NotFound")):
            return BlobStoreUnavailable(
                f"blob storage: the {where} does not exist: create it, or set "
                "storage.s3.bucket to an existing one"
            )
        if code in _BAD_CREDENTIALS:
            return BlobStoreUnavailable(
                f"blob storage: the S3 endpoint {endpoint} refused the credentials ({code}: "
                f"{message}): {_CREDENTIALS_HINT}"
            )
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            return BlobStoreUnavailable(
                f"blob storage: access to the {where} is denied ({code}): the credentials "
                "need s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it"
            )
        if code in ("PermanentRedirect", "301") or status == 301:
            return BlobStoreUnavailable(
                f"blob storage: the {where} is in another region: set storage.s3.region"
            )
        return BlobStoreUnavailable(f"blob storage: the {where} refused: {code}: {message}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return BlobStoreUnavailable(f"blob storage: no S3 credentials found: {_CREDENTIALS_HINT}")
    if isinstance(exc, ReadTimeoutError):
        return BlobStoreUnavailable(
            f"blob storage: the S3 endpoint {endpoint} did not answer in time "
            "(storage.s3.read_timeout)"
        )
    if isinstance(exc, ConnectTimeoutError):
        return BlobStoreUnavailable(
            f"blob storage: cannot reach the S3 endpoint {endpoint}: no connection within "
            "storage.s3.connect_timeout"
        )
    if isinstance(exc, EndpointUnreachable):
        return BlobStoreUnavailable(
            f"blob storage: cannot reach the S3 endpoint {endpoint}: {_reason(exc)} "
            "(check storage.s3.endpoint_url)"
        )
    if isinstance(exc, HTTPClientError):
        return BlobStoreUnavailable(f"blob storage: the connection to {endpoint} broke: {exc}")
    return BlobStoreUnavailable(f"blob storage: S3 request to the {where} failed: {exc}")
