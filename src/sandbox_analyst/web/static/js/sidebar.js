// The sidebar: "new analysis", my conversations (newest first; rename inline, delete after
// confirming), assistants (mine and public), who is signed in.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { icon } from "./icons.js";
import { confirmDialog } from "./overlays.js";

export class Sidebar {
  /** `shell`: {navigate(hash), currentConversationId(), onConversationDeleted(id), signOut(), me, settings} */
  constructor(shell) {
    this.shell = shell;
    this.conversations = [];
    this.assistants = [];
    this.conversationList = h("ul", { class: "nav-list", dataset: { testid: "conversation-list" } });
    this.assistantList = h("ul", { class: "nav-list", dataset: { testid: "assistant-list" } });
    const keyInUse = !shell.settings.single_user || Boolean(shell.usesKey);
    this.element = h(
      "nav",
      { class: "sidebar", "aria-label": "Conversations and assistants" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), "Sandbox Analyst"),
      h("button", { type: "button", class: "button primary wide", dataset: { testid: "new-analysis" }, onclick: () => shell.navigate("#/new") }, icon("plus"), "New analysis"),
      h("button", { type: "button", class: "button wide", dataset: { testid: "open-tasks" }, onclick: () => shell.navigate("#/tasks") }, "Tasks"),
      h("div", { class: "nav-section" }, h("h2", {}, "Conversations"), this.conversationList),
      h(
        "div",
        { class: "nav-section" },
        h(
          "div",
          { class: "nav-section-head" },
          h("h2", {}, "Assistants"),
          h("button", { type: "button", class: "link-button", dataset: { testid: "new-assistant" }, onclick: () => shell.navigate("#/assistants/new") }, icon("plus"), "New"),
        ),
        this.assistantList,
      ),
      h(
        "div",
        { class: "sidebar-footer" },
        h("span", { class: "who", title: `signed in as ${shell.me.name}` }, shell.me.name, shell.me.role === "admin" ? h("span", { class: "badge" }, "admin") : null),
        keyInUse ? h("button", { type: "button", class: "link-button", dataset: { testid: "sign-out" }, onclick: () => shell.signOut() }, "Sign out") : null,
        h("span", { class: "muted small version" }, `v${shell.settings.version}`),
      ),
    );
  }

  async refresh() {
    const [conversations, assistants] = await Promise.all([api.conversations(), api.assistants()]);
    this.conversations = conversations.sort((a, b) => b.created_at.localeCompare(a.created_at));
    this.assistants = assistants.sort((a, b) => {
      const mine = Number(b.owner_id === this.shell.me.id) - Number(a.owner_id === this.shell.me.id);
      return mine || a.name.localeCompare(b.name);
    });
    this.render();
  }

  render() {
    const current = this.shell.currentConversationId();
    clear(this.conversationList);
    if (!this.conversations.length) this.conversationList.append(h("li", { class: "muted small empty" }, "No conversations yet"));
    for (const conversation of this.conversations) this.conversationList.append(this.conversationItem(conversation, conversation.id === current));
    clear(this.assistantList);
    if (!this.assistants.length) this.assistantList.append(h("li", { class: "muted small empty" }, "No assistants yet"));
    const currentAssistant = /^#\/assistants\/(.+)$/.exec(location.hash)?.[1];
    for (const assistant of this.assistants) this.assistantList.append(this.assistantItem(assistant, assistant.id === currentAssistant));
  }

  conversationItem(conversation, active) {
    const title = h("span", { class: "item-title", dataset: { testid: "conversation-title" } }, conversation.title || "Untitled analysis");
    const link = h("a", { class: "item-link", href: `#/c/${encodeURIComponent(conversation.id)}` }, title);
    const item = h(
      "li",
      { class: active ? "item active" : "item", dataset: { testid: "conversation-item", id: conversation.id } },
      link,
      h(
        "span",
        { class: "item-actions" },
        h("button", { type: "button", class: "icon-button", title: "Rename", "aria-label": "Rename", dataset: { testid: "conversation-rename" }, onclick: () => this.startRename(item, link, conversation) }, icon("pencil")),
        h("button", { type: "button", class: "icon-button", title: "Delete", "aria-label": "Delete", dataset: { testid: "conversation-delete" }, onclick: () => this.delete(conversation) }, icon("trash")),
      ),
    );
    return item;
  }

  startRename(item, link, conversation) {
    const input = h("input", {
      type: "text",
      class: "rename-input",
      value: conversation.title,
      maxlength: 200,
      "aria-label": "Conversation title",
      dataset: { testid: "conversation-title-input" },
    });
    let finished = false;
    const finish = async (save) => {
      if (finished) return;
      finished = true;
      const title = input.value.trim();
      if (save && title && title !== conversation.title) {
        try {
          const renamed = await api.renameConversation(conversation.id, title);
          conversation.title = renamed.title;
          this.shell.onConversationRenamed?.(renamed);
        } catch (error) {
          alertInline(item, error.message);
        }
      }
      this.render();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
    link.replaceWith(input);
    input.focus();
    input.select();
  }

  async delete(conversation) {
    const name = conversation.title || "this untitled analysis";
    if (!(await confirmDialog(`Delete “${name}”? Its messages, files and charts are deleted too.`))) return;
    try {
      await api.deleteConversation(conversation.id);
    } catch (error) {
      if (error.status !== 404) {
        await confirmDialog(`Could not delete: ${error.message}`, { confirmLabel: "OK", danger: false });
        return;
      }
    }
    this.conversations = this.conversations.filter((c) => c.id !== conversation.id);
    this.render();
    this.shell.onConversationDeleted(conversation.id);
  }

  assistantItem(assistant, active) {
    const isPublic = assistant.visibility === "public";
    return h(
      "li",
      { class: active ? "item active" : "item", dataset: { testid: "assistant-item", id: assistant.id } },
      h(
        "a",
        { class: "item-link", href: `#/assistants/${encodeURIComponent(assistant.id)}` },
        h("span", { class: "item-title" }, assistant.name),
        isPublic ? h("span", { class: "badge public", dataset: { testid: "assistant-public-badge" } }, "public") : null,
      ),
    );
  }
}

function alertInline(item, message) {
  item.after(h("li", { class: "inline-error small", role: "alert" }, message));
}
