// Boots the page: asks the server how to sign in, then routes on the URL fragment:
//   #/new (default)        a new analysis
//   #/c/<id>               a conversation
//   #/assistants/new       create an assistant
//   #/assistants/<id>      view or edit one
//   #/tasks                start an agent task, list mine
//   #/tasks/<id>           follow one, see its result
import { ApiError, api, auth, request } from "./api.js";
import { assistantEditor } from "./assistant-editor.js";
import { ChatView } from "./chat-view.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";
import { closeLightbox } from "./overlays.js";
import { Sidebar } from "./sidebar.js";
import { signIn } from "./signin.js";
import { taskPage, tasksPage } from "./task-view.js";

const root = document.getElementById("app");

class App {
  constructor(settings, me) {
    this.settings = settings;
    this.me = me;
    this.usesKey = Boolean(auth.key);
    this.sidebar = new Sidebar(this);
    this.chat = new ChatView(this);
    this.main = h("main", { class: "main" });
    this.menuButton = h("button", { type: "button", class: "icon-button menu-toggle", "aria-label": "Show conversations", dataset: { testid: "sidebar-toggle" }, onclick: () => this.toggleSidebar() }, icon("menu"));
    this.layout = h(
      "div",
      { class: "layout" },
      this.sidebar.element,
      h("div", { class: "scrim", onclick: () => this.toggleSidebar(false) }),
      h("div", { class: "content" }, h("div", { class: "topbar" }, this.menuButton, h("span", { class: "topbar-title" }, "Sandbox Analyst")), this.main),
    );
    root.replaceChildren(this.layout);
    window.addEventListener("hashchange", () => this.route());
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  // --- what the views call -------------------------------------------------------------
  assistants() {
    return this.sidebar.assistants;
  }
  navigate(hash) {
    // Routed now, not on the browser's later hashchange event: what the user does next (type,
    // send) must not be undone by a route that lands after it. pushState fires no hashchange;
    // back and forward still do.
    if (location.hash !== hash) history.pushState(null, "", hash);
    this.route();
  }
  replaceRoute(hash) {
    history.replaceState(null, "", hash);
    this.sidebar.render();
  }
  currentConversationId() {
    return /^#\/c\/(.+)$/.exec(location.hash)?.[1] ?? null;
  }
  refreshSidebar() {
    this.sidebarLoad = this.sidebar.refresh().then(
      () => this.chat.assistantsChanged(),
      () => {},
    );
    return this.sidebarLoad;
  }
  /** Settles when the sidebar's latest load of the assistants has (even if it failed). */
  assistantsLoaded() {
    return this.sidebarLoad ?? Promise.resolve();
  }
  startWith(assistantId) {
    this.pendingAssistant = assistantId;
    this.navigate("#/new");
  }
  onConversationDeleted(id) {
    if (this.chat.conversation?.id === id) this.navigate("#/new");
  }
  onConversationRenamed(conversation) {
    if (this.chat.conversation?.id === conversation.id) {
      this.chat.conversation.title = conversation.title;
      this.chat.title.textContent = conversation.title;
    }
  }
  signOut() {
    auth.key = "";
    location.hash = "";
    location.reload();
  }

  toggleSidebar(open = !this.layout.classList.contains("sidebar-open")) {
    this.layout.classList.toggle("sidebar-open", open);
  }

  onKey(event) {
    if (event.key !== "Escape") return;
    if (closeLightbox()) return;
    if (this.chat.running || !this.chat.stopButton.hidden) {
      event.preventDefault();
      this.chat.stop();
    }
  }

  async route() {
    this.routes = (this.routes ?? 0) + 1;
    this.toggleSidebar(false);
    this.taskView?.close();
    this.taskView = null;
    const hash = location.hash || "#/new";
    let match;
    if ((match = /^#\/c\/([^/]+)$/.exec(hash))) await this.showConversation(decodeURIComponent(match[1]));
    else if (hash === "#/tasks") this.showPage(tasksPage(this));
    else if ((match = /^#\/tasks\/([^/]+)$/.exec(hash))) await this.showTask(decodeURIComponent(match[1]));
    else if (hash === "#/assistants/new") this.showPage(assistantEditor(null, this));
    else if ((match = /^#\/assistants\/([^/]+)$/.exec(hash))) await this.showAssistant(decodeURIComponent(match[1]));
    else this.showNew();
    this.sidebar.render();
  }

  showNew() {
    const assistant = this.pendingAssistant;
    this.pendingAssistant = null;
    this.chat.openNew(assistant);
    this.main.replaceChildren(this.chat.element);
  }

  async showConversation(id) {
    if (this.chat.conversation?.id === id && this.chat.element.isConnected) return;
    this.main.replaceChildren(h("div", { class: "loading muted" }, "Loading…"));
    try {
      if (await this.chat.open(id)) this.main.replaceChildren(this.chat.element);
      else this.showNotFound("This conversation does not exist, or it is not yours.");
    } catch (error) {
      this.showProblem(error);
    }
  }

  async showAssistant(id) {
    try {
      this.showPage(assistantEditor(await api.assistant(id), this));
    } catch (error) {
      if (error instanceof ApiError && [403, 404, 422].includes(error.status)) this.showNotFound("This assistant does not exist, or it is not shared with you.");
      else this.showProblem(error);
    }
  }

  async showTask(id) {
    try {
      this.taskView = taskPage(await request("GET", `/api/tasks/${encodeURIComponent(id)}`), this);
      this.showPage(this.taskView.element);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.showNotFound("This task does not exist, or it is not yours.");
      else this.showProblem(error);
    }
  }

  showPage(page) {
    this.main.replaceChildren(h("div", { class: "page-scroll" }, page));
  }

  showNotFound(text) {
    this.showPage(
      h(
        "div",
        { class: "not-found", dataset: { testid: "not-found" } },
        h("h1", {}, "Not found"),
        h("p", { class: "muted" }, text),
        h("button", { type: "button", class: "button primary", onclick: () => this.navigate("#/new") }, "Start a new analysis"),
      ),
    );
  }

  showProblem(error) {
    this.showPage(h("div", { class: "not-found", role: "alert" }, h("h1", {}, "Something went wrong"), h("p", {}, error.message)));
  }
}

// Tests wait for this. Both a global and an attribute: under the page's CSP, Playwright's
// wait_for_function (which evals in the page) is refused, a selector wait is not.
function markReady() {
  window.__analystReady = true;
  document.documentElement.dataset.analystReady = "true";
}

async function boot() {
  let settings;
  try {
    settings = await api.settings();
  } catch (error) {
    root.replaceChildren(h("div", { class: "signin-page" }, h("p", { class: "form-error", role: "alert" }, `The server cannot be reached: ${error.message}`)));
    markReady();
    return;
  }
  let me = null;
  try {
    if (auth.key || settings.single_user) me = await api.me();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      root.replaceChildren(h("div", { class: "signin-page" }, h("p", { class: "form-error", role: "alert" }, error.message)));
      markReady();
      return;
    }
    auth.key = "";
  }
  if (!me) {
    const signedIn = signIn(root);
    markReady();
    me = await signedIn;
  }
  const app = new App(settings, me);
  auth.onUnauthorized = () => {
    auth.key = "";
    signIn(root, { message: "Your API key is no longer accepted. Sign in again." }).then(() => location.reload());
  };
  await app.refreshSidebar();
  // The sidebar is usable while it loads: if the user has already gone somewhere (clicked
  // New assistant, say), routing now would replace what they have started typing.
  if (!app.routes) await app.route();
  markReady();
}

boot();
