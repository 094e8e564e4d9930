"""The chat header's Notebook button downloads the open conversation as a notebook (fetched
with the key, saved under the server's file name); a new analysis has no button."""

from __future__ import annotations

from pathlib import Path

import nbformat
from playwright.sync_api import expect

from tests.web.conftest import Browsing, WebApp, sign_in


def test_the_notebook_button_downloads_the_open_conversation(
    browsing: Browsing, web: WebApp
) -> None:
    dora = web.add_user("dora")
    conversation_id = web.create_conversation(dora, "Quarterly sales")
    page = browsing.new_page()
    sign_in(page, dora, f"/#/c/{conversation_id}")
    button = page.get_by_test_id("export-notebook")
    expect(button).to_be_visible()
    with page.expect_download() as downloading:
        button.click()
    download = downloading.value

    assert download.suggested_filename == "Quarterly sales.ipynb"
    notebook = nbformat.read(Path(download.path()), as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["sandbox_analyst"]["conversation_id"] == conversation_id

    page.get_by_test_id("new-analysis").click()
    expect(page.get_by_test_id("export-notebook")).to_be_hidden()
