"""Settings of where files are kept: a local directory or an S3-compatible bucket."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class S3Settings(BaseModel):
    """S3-compatible object storage for `storage.blobs: s3` (AWS S3, MinIO, Ceph, R2...)."""

    bucket: str | None = Field(None, description="Bucket holding the blobs (must exist).")
    prefix: str = Field(
        "", description="Key prefix inside the bucket, e.g. `analyst/` to share a bucket."
    )
    endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible server; unset: AWS S3 for the region."
    )
    region: str | None = Field(None, description="Region; unset: the AWS client's own chain.")
    access_key_id: str | None = Field(
        None,
        description="Access key; unset: the AWS client's own chain (AWS_ACCESS_KEY_ID, "
        "AWS_PROFILE, ~/.aws, an instance or container role).",
    )
    secret_access_key: SecretStr | None = Field(None, description="Secret of the access key.")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto",
        description="Bucket in the path (MinIO and most self-hosted servers) or in the host "
        "name (AWS); auto: the client decides.",
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(60.0, gt=0, description="Seconds a response may stall.")
    max_connections: int = Field(
        10, ge=1, le=256, description="Concurrent requests to the endpoint at most."
    )

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("storage.s3.endpoint_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _whole_key(self) -> S3Settings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "storage.s3.access_key_id and storage.s3.secret_access_key go together: set "
                "both, or neither (the AWS client then finds credentials itself)"
            )
        return self


class StorageSettings(BaseModel):
    """Where the bytes of uploads and artifacts are kept (their records are in the database).
    Several servers sharing one database must share these too: use `s3` for that."""

    blobs: Literal["local", "s3"] = Field(
        "local",
        description="local: files under <data_dir>/blobs; s3: an S3-compatible bucket "
        "(install the `s3` extra).",
    )
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _s3_has_a_bucket(self) -> StorageSettings:
        if self.blobs == "s3" and not self.s3.bucket:
            raise ValueError(
                "storage.blobs is s3 but storage.s3.bucket is not set (ANALYST_STORAGE__S3__BUCKET)"
            )
        return self
