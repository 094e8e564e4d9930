"""An S3-compatible server on 127.0.0.1 for tests and benchmarks: moto's server in a child
process, checking every request's signature against an access key it issued (IAM), so wrong
credentials are refused as a real endpoint refuses them.

    with LocalS3Server() as s3:             # needs the dev dependencies (moto, boto3)
        bucket = s3.create_bucket()
        storage = StorageSettings(blobs="s3", s3=s3.s3_settings(bucket))

Not imported by `sandbox_analyst.testing` itself: boto3 and moto are optional.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from types import TracebackType
from typing import Any

import boto3
import httpx

REGION = "us-east-1"
_START_TIMEOUT_S = 60.0
_ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalS3Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.access_key_id = ""
        self.secret_access_key = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._s3: Any = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (the child writes it until stop)

    def __enter__(self) -> LocalS3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env
        )
        try:
            self._wait_ready()
            self._issue_key()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the S3 server exited at start:\n{self._output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the S3 server did not answer within {_START_TIMEOUT_S:.0f} s:\n"
                        f"{self._output()}"
                    ) from None
                time.sleep(0.1)

    def _issue_key(self) -> None:
        """An IAM user allowed everything on S3, its access key, then signatures enforced."""
        iam = self._client("iam", "bootstrap", "bootstrap")
        iam.create_user(UserName="analyst")
        iam.put_user_policy(
            UserName="analyst", PolicyName="s3", PolicyDocument=json.dumps(_ALLOW_S3)
        )
        key = iam.create_access_key(UserName="analyst")["AccessKey"]
        self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
        # From now on every request must be signed with a key the server issued.
        httpx.post(f"{self.endpoint_url}/moto-api/reset-auth", content=b"0").raise_for_status()

    def _client(self, service: str, key_id: str, secret: str) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def client(self) -> Any:
        """A boto3 S3 client with the issued key (to look at what a store wrote)."""
        if self._s3 is None:
            self._s3 = self._client("s3", self.access_key_id, self.secret_access_key)
        return self._s3

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"analyst-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def object_keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def s3_settings(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        """`storage.s3` settings for `bucket` on this server, as plain data."""
        values = {
            "bucket": bucket,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        }
        return {**values, **overrides}

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self._log.close()
