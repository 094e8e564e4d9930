"""Signed links: an HMAC over file id and expiry with a secret kept in the data dir."""

from __future__ import annotations

import stat
from pathlib import Path

from sandbox_analyst.service.signing import SECRET_FILE_NAME, UrlSigner, load_or_create_secret


def test_a_signature_is_valid_for_its_file_until_it_expires() -> None:
    signer = UrlSigner(b"k" * 32)
    token = signer.sign("file1", expires=1_000)
    assert signer.verify("file1", token, now=999)
    assert not signer.verify("file1", token, now=1_001)
    assert not signer.verify("file2", token, now=999)
    assert not UrlSigner(b"other" * 8).verify("file1", token, now=999)
    assert not signer.verify("file1", "2000." + token.split(".")[1], now=999)
    assert not signer.verify("file1", "garbage", now=0)


def test_the_secret_is_created_once_and_private(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert load_or_create_secret(tmp_path / "data") == first
    assert len(first) == 32
    mode = (tmp_path / "data" / SECRET_FILE_NAME).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
