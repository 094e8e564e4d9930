"""Uploads: the size limit is announced before choosing a file, and a file over it is
refused without being stored."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import MAX_UPLOAD_MB, WebApp, WebUser, new_analysis, upload


def test_the_upload_limit_is_announced_and_a_larger_file_is_refused(
    alice_page: Page, web: WebApp, alice: WebUser
) -> None:
    page = alice_page
    new_analysis(page)
    expect(page.get_by_test_id("upload-limit")).to_contain_text(
        re.compile(rf"\b{MAX_UPLOAD_MB}\s*Mi?B", re.IGNORECASE)
    )

    too_big = b"x," * (MAX_UPLOAD_MB * 1024 * 1024)
    refused = upload(page, "too-big.csv", too_big)
    accepted = upload(page, "small.csv", b"a,b\n1,2\n")

    expect(accepted).to_be_visible()
    expect(refused).to_have_count(0)
    expect(page.get_by_test_id("upload-error")).to_contain_text("too-big.csv")
    stored = web.api(alice, "GET", "/api/files").json()
    assert "too-big.csv" not in [file["name"] for file in stored]
