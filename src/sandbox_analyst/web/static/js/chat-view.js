// The conversation screen: stored messages, the composer, files, and one streamed turn at a
// time (POST .../messages as server-sent events; Stop posts .../cancel).
import { ApiError, api, postMessage } from "./api.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";
import { AssistantMessage, storedAssistantMessage, userMessage } from "./message-view.js";
import { readEvents } from "./sse.js";
import { FileTray } from "./uploads.js";

const FOLLOW_INTERVAL_MS = 1500;
const DEFAULT_ASSISTANT = {
  name: "Data analyst",
  description: "General-purpose analyst created by the web UI.",
  instructions: "",
};

export class ChatView {
  /** `shell`: {settings, assistants(), assistantsLoaded(), refreshSidebar(), replaceRoute(hash), showNotFound()} */
  constructor(shell) {
    this.shell = shell;
    this.conversation = null;
    // Turns streaming in this tab, by conversation: one keeps running (into its own message
    // view) when another conversation is opened, and is shown again on coming back.
    this.turns = new Map(); // conversation id -> {conversationId, controller, view, stopTimer}
    this.starting = false; // a first message is creating its conversation
    this.messages = h("div", { class: "messages", "aria-live": "polite" });
    this.composer = h("textarea", {
      rows: 1,
      placeholder: "Ask about your data…",
      "aria-label": "Message",
      dataset: { testid: "composer" },
      onkeydown: (event) => this.onKey(event),
      oninput: () => this.autosize(),
    });
    this.sendButton = h("button", { type: "button", class: "button primary send", dataset: { testid: "send" }, onclick: () => this.sendFromComposer() }, "Send", icon("send"));
    this.stopButton = h("button", { type: "button", class: "button stop", hidden: true, disabled: true, dataset: { testid: "stop" }, onclick: () => this.stop() }, icon("stop"), "Stop");
    this.tray = new FileTray({ settings: shell.settings, ensureConversation: () => this.ensureConversation() });
    this.assistantPicker = h("select", { class: "assistant-picker", "aria-label": "Assistant", name: "assistant", onchange: () => (this.chosenAssistant = this.assistantPicker.value) });
    this.chosenAssistant = null;
    this.title = h("h1", { class: "chat-title" });
    this.pickerLabel = h("label", { class: "muted small picker-label" }, "Assistant", this.assistantPicker);
    this.exportButton = h(
      "button",
      { type: "button", class: "button export", hidden: true, title: "Download this analysis as a Jupyter notebook", dataset: { testid: "export-notebook" }, onclick: () => this.exportNotebook() },
      icon("download"),
      "Notebook",
    );
    this.forkButton = h(
      "button",
      { type: "button", class: "button fork", hidden: true, title: "Fork this analysis: a copy with its files and variables, to try another road", dataset: { testid: "fork-conversation" }, onclick: () => this.fork() },
      icon("fork"),
      "Fork",
    );
    // What the last fork made reported (its replayed cells), shown when the fork opens.
    this.forkNotices = new Map(); // conversation id -> the fork's report
    this.header = h("div", { class: "chat-header" }, this.title, this.pickerLabel, this.exportButton, this.forkButton);
    this.element = h(
      "section",
      { class: "chat" },
      this.header,
      h("div", { class: "messages-scroll" }, this.messages),
      h(
        "div",
        { class: "composer-area" },
        this.tray.element,
        h("div", { class: "composer" }, this.tray.attachButton, this.composer, this.stopButton, this.sendButton),
        h("div", { class: "composer-hint muted small" }, "Enter to send · Shift+Enter for a new line · Esc to stop"),
      ),
      h("div", { class: "drop-overlay", "aria-hidden": "true" }, "Drop files to add them to this analysis"),
    );
    this.tray.acceptDrops(this.element);
    // Charts load after the messages are laid out: keep the view pinned to the end while the
    // reader has not scrolled away from it.
    this.stickToEnd = true;
    const scroller = this.messages.parentElement;
    scroller.addEventListener("scroll", () => {
      this.stickToEnd = this.isNearEnd();
    });
    this.messages.addEventListener(
      "load",
      () => {
        if (this.stickToEnd) scroller.scrollTop = scroller.scrollHeight;
      },
      true,
    );
  }

  /** Whether a turn runs in the conversation on screen. */
  get running() {
    return this.starting || Boolean(this.conversation && this.turns.has(this.conversation.id));
  }

  /** Whether the conversation on screen is `conversationId` (null: a new analysis). */
  showing(conversationId) {
    return conversationId === null ? !this.conversation : this.conversation?.id === conversationId;
  }

  autosize() {
    this.composer.style.height = "auto";
    this.composer.style.height = `${Math.min(this.composer.scrollHeight, 240)}px`;
  }

  onKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.sendFromComposer();
    }
  }

  /** A new analysis: pick an assistant, nothing stored until the first message or file. */
  openNew(assistantId = null) {
    this.conversation = null;
    clearTimeout(this.followTimer);
    this.setRunning(false);
    this.title.textContent = "New analysis";
    this.messages.replaceChildren(
      h(
        "div",
        { class: "empty-state" },
        h("h2", {}, "What would you like to analyse?"),
        h("p", { class: "muted" }, "Add a CSV, Excel, Parquet or JSON file and ask a question. The analyst writes and runs Python, and shows you the code, tables and charts."),
      ),
    );
    this.chosenAssistant = assistantId;
    this.fillPicker();
    this.pickerLabel.hidden = false;
    this.exportButton.hidden = true;
    this.forkButton.hidden = true;
    this.tray.files = [];
    this.tray.chips.replaceChildren();
    this.tray.preview.replaceChildren();
    this.composer.focus();
  }

  /** The picker offers the assistants the sidebar has loaded, keeping the one chosen. */
  fillPicker() {
    const assistants = this.shell.assistants();
    this.assistantPicker.replaceChildren(
      ...assistants.map((assistant) =>
        h("option", { value: assistant.id }, assistant.visibility === "public" ? `${assistant.name} (public)` : assistant.name),
      ),
    );
    if (!assistants.length) this.assistantPicker.append(h("option", { value: "" }, DEFAULT_ASSISTANT.name));
    if (this.chosenAssistant && assistants.some((assistant) => assistant.id === this.chosenAssistant)) {
      this.assistantPicker.value = this.chosenAssistant;
    }
  }

  /** The sidebar's assistants changed: a new analysis on screen offers them (a new analysis
   * opened before the first load had none to offer). */
  assistantsChanged() {
    if (!this.conversation) this.fillPicker();
  }

  /** Show stored conversation `id`; false when it is not there (or not ours). */
  async open(id) {
    let detail;
    let files;
    try {
      [detail, files] = await Promise.all([api.conversation(id), api.files(id)]);
    } catch (error) {
      if (error instanceof ApiError && [403, 404, 422].includes(error.status)) return false;
      throw error;
    }
    this.conversation = detail;
    this.pickerLabel.hidden = true;
    this.exportButton.hidden = false;
    this.forkButton.hidden = false;
    this.title.textContent = detail.title || "Untitled analysis";
    const byId = new Map(files.map((file) => [file.id, file]));
    this.tray.files = files.filter((file) => file.kind === "upload");
    this.tray.chips.replaceChildren(...this.tray.files.map((file) => this.tray.chip(file)));
    this.tray.preview.replaceChildren();
    const live = this.turns.get(id);
    const rendered = [];
    let lastUserText = "";
    for (const message of detail.messages) {
      if (message.role === "user") {
        lastUserText = message.content;
        rendered.push(userMessage(message.content));
      } else if (live && live.view.messageId === message.id) {
        rendered.push(live.view.element);
      } else if (message.role === "assistant") {
        const question = lastUserText;
        rendered.push(storedAssistantMessage(message, byId, () => this.send(question)).element);
      }
    }
    const forked = this.forkNotices.get(id);
    if (forked) rendered.push(forkNotice(forked));
    const nearEnd = !this.messages.children.length || this.isNearEnd();
    this.messages.replaceChildren(...rendered);
    if (nearEnd) this.scrollToEnd();
    // A turn still running elsewhere (another tab, or before a reload): follow it until it
    // ends, and let Stop cancel it.
    const streaming = !live && detail.messages.some((message) => message.status === "streaming");
    this.setRunning(Boolean(live));
    if (streaming) this.showStop(true);
    clearTimeout(this.followTimer);
    if (streaming) this.followTimer = setTimeout(() => this.follow(id), FOLLOW_INTERVAL_MS);
    return true;
  }

  /** Download the conversation as a notebook: fetched with the key (a plain link cannot send
   * it), then saved from a blob: URL under the name the server gave it. */
  async exportNotebook() {
    if (!this.conversation) return;
    this.exportButton.disabled = true;
    try {
      const { blob, filename } = await api.exportConversation(this.conversation.id, "ipynb");
      const url = URL.createObjectURL(blob);
      const anchor = h("a", { href: url, download: filename, hidden: true });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      this.exportButton.title = `Export failed: ${error.message}`;
    } finally {
      this.exportButton.disabled = false;
    }
  }

  /** Fork the conversation on screen (its files copied, its successful cells replayed in a
   * fresh sandbox) and open the fork, saying how the replay went. */
  async fork() {
    if (!this.conversation || this.running) return;
    this.forkButton.disabled = true;
    this.forkButton.title = "Forking: replaying the cells in a fresh sandbox…";
    try {
      const forked = await api.forkConversation(this.conversation.id);
      this.forkNotices.set(forked.id, forked.fork);
      this.shell.refreshSidebar();
      this.shell.navigate(`#/c/${forked.id}`);
      this.forkButton.title = "Fork this analysis: a copy with its files and variables, to try another road";
    } catch (error) {
      this.forkButton.title = `Fork failed: ${error.message}`;
    } finally {
      this.forkButton.disabled = false;
    }
  }

  async follow(id) {
    if (this.conversation?.id !== id || this.running || !this.element.isConnected) return;
    try {
      await this.open(id);
    } catch {
      this.followTimer = setTimeout(() => this.follow(id), FOLLOW_INTERVAL_MS);
    }
  }

  async ensureConversation() {
    if (this.conversation) return this.conversation.id;
    // Until the user's assistants have loaded the picker has none of them: creating the
    // default assistant now would give a user who has some a new one instead.
    await this.shell.assistantsLoaded();
    let assistantId = this.assistantPicker.value;
    if (!assistantId) {
      const created = await api.createAssistant(DEFAULT_ASSISTANT);
      assistantId = created.id;
    }
    const text = this.composer.value.trim();
    this.conversation = await api.createConversation(assistantId, titleFrom(text));
    this.title.textContent = this.conversation.title || "Untitled analysis";
    this.pickerLabel.hidden = true;
    this.exportButton.hidden = false;
    this.forkButton.hidden = false;
    if (this.messages.querySelector(".empty-state")) this.messages.replaceChildren();
    this.shell.replaceRoute(`#/c/${this.conversation.id}`);
    this.shell.refreshSidebar();
    return this.conversation.id;
  }

  sendFromComposer() {
    const text = this.composer.value.trim();
    if (!text || this.running) return;
    this.send(text);
  }

  async send(text) {
    if (this.running) return;
    const view = new AssistantMessage({ onRetry: () => this.send(text) });
    const turn = { conversationId: null, controller: new AbortController(), view, stopTimer: null };
    this.starting = true;
    this.setRunning(true);
    try {
      turn.conversationId = await this.ensureConversation();
      this.turns.set(turn.conversationId, turn);
      this.starting = false;
      // A view opened while the conversation was being created (the first route after
      // signing in lands late) reset the composer: this conversation's turn is running.
      if (this.showing(turn.conversationId)) this.setRunning(true);
      this.composer.value = "";
      this.autosize();
      this.tray.preview.replaceChildren();
      if (!this.conversation.title) this.nameConversation(text);
      this.messages.append(userMessage(text), view.element);
      this.scrollToEnd();
      const response = await postMessage(turn.conversationId, text, turn.controller.signal);
      await this.consume(response, turn);
    } catch (error) {
      if (!view.element.isConnected && this.showing(turn.conversationId)) this.messages.append(view.element);
      if (error.name === "AbortError") view.end("cancelled");
      else view.end("failed", error.message);
    } finally {
      this.starting = false;
      if (view.status === "streaming") view.end("failed", "The connection ended before the answer was complete.");
      clearTimeout(turn.stopTimer);
      this.turns.delete(turn.conversationId);
      if (this.showing(turn.conversationId)) {
        this.setRunning(false);
        this.scrollToEnd();
      }
      this.shell.refreshSidebar();
    }
  }

  async consume(response, turn) {
    const { view } = turn;
    for await (const { event, data } of readEvents(response)) {
      const nearEnd = this.showing(turn.conversationId) && this.isNearEnd();
      if (showsRole(event, data, view)) view.speaking(data.agent);
      switch (event) {
        case "message_start":
          view.messageId = data.message_id;
          break;
        case "token":
          view.appendToken(data.text);
          break;
        case "tool_call":
          if (view.isHandoff(data.tool, data.agent)) view.handoffCalls.add(data.call_id);
          else view.startStep(data.call_id, data.code, data.tool);
          break;
        case "handoff":
          view.handoff(data.from, data.to, data.reason);
          break;
        case "stdout":
        case "stderr":
          view.step(data.call_id).appendOutput(data.text, event);
          break;
        case "result":
          view.step(data.call_id).addResult(data);
          break;
        case "artifact":
          view.step(data.call_id).addArtifact(data);
          break;
        case "tool_result":
          if (view.handoffCalls.has(data.call_id)) {
            view.handoffCalls.delete(data.call_id);
            if (!data.success) view.refusedHandoff((data.error && data.error.value) || "refused");
          } else view.step(data.call_id).finish(data);
          break;
        case "error":
          view.lastError = data.message;
          break;
        case "message_end":
          view.end(data.status, data.error || view.lastError);
          break;
        default:
          break; // sandbox_restored: nothing to show
      }
      if (nearEnd) this.scrollToEnd();
    }
  }

  nameConversation(text) {
    const title = titleFrom(text);
    this.conversation.title = title;
    this.title.textContent = title;
    api.renameConversation(this.conversation.id, title).then(() => this.shell.refreshSidebar(), () => {});
  }

  async stop() {
    if (!this.conversation) return;
    const turn = this.turns.get(this.conversation.id);
    this.stopButton.disabled = true;
    if (!turn) {
      // A turn followed from the stored conversation: cancelling is all there is to do.
      await api.cancelTurn(this.conversation.id).catch(() => {});
      return;
    }
    try {
      await api.cancelTurn(this.conversation.id);
      // The stream ends with message_end "cancelled"; if it does not, hang up (which cancels too).
      turn.stopTimer = setTimeout(() => turn.controller.abort(), 10000);
    } catch {
      turn.controller.abort();
    }
  }

  setRunning(running) {
    this.sendButton.disabled = running;
    this.forkButton.disabled = running;
    this.showStop(running);
    this.element.classList.toggle("running", running);
  }

  showStop(visible) {
    this.stopButton.hidden = !visible;
    this.stopButton.disabled = !visible;
  }

  isNearEnd() {
    const scroller = this.messages.parentElement;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  scrollToEnd() {
    this.stickToEnd = true;
    const scroller = this.messages.parentElement;
    requestAnimationFrame(() => {
      scroller.scrollTop = scroller.scrollHeight;
    });
  }
}

/** Whether an event shows something of a team role's own, so its badge comes first. */
function showsRole(event, data, view) {
  if (!data.agent) return false;
  if (event === "token") return Boolean(String(data.text).trim());
  if (event === "tool_call") return !view.isHandoff(data.tool, data.agent);
  return event === "error";
}

/** What a fork reported, as a notice at the end of the fork's messages. */
function forkNotice(fork) {
  const { replay } = fork;
  const cells = replay.cells_replayed + replay.cells_failed;
  let summary;
  if (replay.status === "deferred") summary = `Forked. Its cells will be replayed on the first message (${replay.error || "no sandbox now"}).`;
  else if (replay.status === "nothing") summary = "Forked. No code had run yet: nothing to replay.";
  else summary = `Forked: ${cells} cell${cells === 1 ? "" : "s"} replayed in a fresh sandbox, ${replay.cells_failed} failed.`;
  return h(
    "div",
    { class: "fork-notice", dataset: { testid: "fork-notice" } },
    h("p", { class: "turn-notice" }, summary),
    ...replay.failures.map((failure) =>
      h("p", { class: "turn-notice fork-failure", dataset: { testid: "fork-failure" } }, `Cell ${failure.cell} failed when replayed: ${failure.name}: ${failure.value}`),
    ),
  );
}

function titleFrom(text) {
  const line = text.split("\n")[0].trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
