"""The sidebar: conversations newest first, renamed and deleted in place; the assistant
editor, which shows the API's validation errors next to their fields and publishes an
assistant that other users then see with a public badge."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from sandbox_analyst.sandbox.templates import TemplateCatalog
from tests.web.conftest import Browsing, WebApp, WebUser, screenshot, sign_in


def conversation_item(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')


def test_conversations_are_listed_newest_first_and_can_be_renamed_and_deleted(
    browsing: Browsing, web: WebApp
) -> None:
    carol = web.add_user("carol")
    oldest, middle, newest = (
        web.create_conversation(carol, title) for title in ("Oldest", "Middle", "Newest")
    )
    page = browsing.new_page()
    sign_in(page, carol)

    titles = page.get_by_test_id("conversation-list").get_by_test_id("conversation-title")
    expect(titles).to_have_text(["Newest", "Middle", "Oldest"])

    item = conversation_item(page, middle)
    item.hover()
    item.get_by_test_id("conversation-rename").click()
    title_input = item.get_by_test_id("conversation-title-input")
    title_input.fill("Quarterly review")
    title_input.press("Enter")

    expect(item.get_by_test_id("conversation-title")).to_have_text("Quarterly review")
    stored = web.api(carol, "GET", f"/api/conversations/{middle}").json()
    assert stored["title"] == "Quarterly review"

    item = conversation_item(page, oldest)
    item.hover()
    item.get_by_test_id("conversation-delete").click()
    page.get_by_test_id("confirm-yes").click()

    expect(conversation_item(page, oldest)).to_have_count(0)
    assert web.api(carol, "GET", f"/api/conversations/{oldest}").status_code == 404
    expect(conversation_item(page, newest)).to_be_visible()


def set_visibility_public(form: Locator) -> None:
    field = form.locator('[name="visibility"]')
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option("public")
    else:
        field.check()


def test_the_assistant_editor_shows_api_errors_by_their_field_and_publishes(
    browsing: Browsing, web: WebApp, bob: WebUser
) -> None:
    erin = web.add_user("erin")
    page = browsing.new_page()
    sign_in(page, erin)
    page.get_by_test_id("new-assistant").click()
    form = page.get_by_test_id("assistant-form")
    form.locator('[name="name"]').fill("Forecaster")
    form.locator('[name="description"]').fill("Projects next quarter's sales.")
    form.locator('[name="instructions"]').fill("Use a linear trend and say how sure you are.")
    form.locator('[name="memory_mb"]').fill("100")  # the API's minimum is 512

    page.get_by_test_id("assistant-save").click()

    error = form.locator('[data-testid="field-error"][data-field="memory_mb"]')
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    screenshot(page, "assistant-editor")

    form.locator('[name="memory_mb"]').fill("1024")
    set_visibility_public(form)
    page.get_by_test_id("assistant-save").click()

    saved = page.get_by_test_id("assistant-item").filter(has_text="Forecaster")
    expect(saved).to_be_visible()
    listed = web.api(erin, "GET", "/api/assistants", params={"mine": "true"}).json()
    [forecaster] = [a for a in listed if a["name"] == "Forecaster"]
    assert (forecaster["visibility"], forecaster["memory_mb"]) == ("public", 1024)
    assert forecaster["instructions"] == "Use a linear trend and say how sure you are."

    bobs_page = browsing.new_page()
    sign_in(bobs_page, bob)
    shared = bobs_page.locator(f'[data-testid="assistant-item"][data-id="{forecaster["id"]}"]')
    expect(shared).to_contain_text("Forecaster")
    expect(shared.get_by_test_id("assistant-public-badge")).to_be_visible()


def test_the_assistant_editor_offers_the_built_templates_and_approved_installs(
    browsing: Browsing, web: WebApp
) -> None:
    templates_dir = web.settings.data_dir / "templates"
    templates_dir.mkdir(parents=True, exist_ok=True)
    (templates_dir / "plain.yaml").write_text("description: Plain tables\n")
    (templates_dir / "unbuilt.yaml").write_text("description: Not built yet\n")
    settings = web.settings.model_copy(
        update={"sandbox": web.settings.sandbox.model_copy(update={"package_index": None})}
    )
    TemplateCatalog.from_settings(settings).build(["plain"])  # nothing to fetch: offline
    frank = web.add_user("frank")
    page = browsing.new_page()
    sign_in(page, frank)
    page.get_by_test_id("new-assistant").click()
    form = page.get_by_test_id("assistant-form")
    form.locator('[name="name"]').fill("Tabulator")
    template = page.get_by_test_id("assistant-template")
    expect(template.locator("option")).to_have_count(2)  # default and the built one only
    template.select_option("plain")
    form.locator('[name="allow_installs"]').check()
    form.locator('[name="allowed_packages"]').fill("faker, regex>=2024")
    page.get_by_test_id("assistant-save").click()

    saved = page.get_by_test_id("assistant-item").filter(has_text="Tabulator")
    expect(saved).to_be_visible()
    listed = web.api(frank, "GET", "/api/assistants", params={"mine": "true"}).json()
    [tabulator] = [a for a in listed if a["name"] == "Tabulator"]
    assert (tabulator["template"], tabulator["allow_installs"]) == ("plain", True)
    assert tabulator["allowed_packages"] == ["faker", "regex>=2024"]


def test_an_admin_narrows_an_assistants_network_access_which_its_owner_sees(
    browsing: Browsing, web: WebApp
) -> None:
    ida = web.add_user("ida", admin=True)
    gus = web.add_user("gus")
    page = browsing.new_page()
    sign_in(page, ida, f"/#/assistants/{gus.assistant_id}")
    form = page.get_by_test_id("assistant-form")
    as_template = page.get_by_test_id("assistant-egress-as-template")
    expect(as_template).to_be_checked()
    expect(page.get_by_test_id("template-egress")).to_contain_text("the server's list")
    as_template.uncheck()
    page.get_by_test_id("assistant-egress").fill("127.0.0.1:8123\n\ndata.example.com:443")
    page.get_by_test_id("assistant-save").click()
    expect(form.locator(".saved")).to_have_text("Saved")
    stored = web.api(gus, "GET", f"/api/assistants/{gus.assistant_id}").json()
    assert stored["egress"] == ["127.0.0.1:8123", "data.example.com:443"]

    owners_page = browsing.new_page()
    sign_in(owners_page, gus, f"/#/assistants/{gus.assistant_id}")
    expect(owners_page.get_by_test_id("assistant-egress-as-template")).to_be_disabled()
    entries = owners_page.get_by_test_id("assistant-egress")
    expect(entries).to_be_disabled()
    expect(entries).to_have_value("127.0.0.1:8123\ndata.example.com:443")
    owners_form = owners_page.get_by_test_id("assistant-form")
    owners_form.locator('[name="description"]').fill("Reads the partner's feed.")
    owners_page.get_by_test_id("assistant-save").click()  # saved without touching egress
    expect(owners_form.locator(".saved")).to_have_text("Saved")
    stored = web.api(gus, "GET", f"/api/assistants/{gus.assistant_id}").json()
    assert stored["description"] == "Reads the partner's feed."
    assert stored["egress"] == ["127.0.0.1:8123", "data.example.com:443"]
