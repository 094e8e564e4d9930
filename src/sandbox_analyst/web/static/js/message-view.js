// How one message looks: the user's text, or the assistant's answer built from streamed events
// (or from a stored message): text, code steps, charts, files, errors; in a team turn, a badge
// naming the role whenever the speaker changes, and a compact line for each handoff.
import { h } from "./dom.js";
import { linkFile, loadImage } from "./file-links.js";
import { renderMarkdown } from "./markdown.js";
import { openLightbox } from "./overlays.js";
import { CodeStep, artifactChip, chartImage } from "./steps.js";

export const HANDOFF_PREFIX = "transfer_to_";

export function userMessage(text, status = "complete") {
  return h(
    "div",
    { class: "message user", dataset: { testid: "message", role: "user", status } },
    h("div", { class: "bubble" }, text),
  );
}

export class AssistantMessage {
  /** `onRetry` is called when the Retry button of a failed turn is clicked. */
  constructor({ status = "streaming", onRetry = null } = {}) {
    this.onRetry = onRetry;
    this.steps = new Map();
    this.speaker = null;
    this.handoffCalls = new Set(); // a team's handoff tool calls: a handoff line, not a step
    this.text = "";
    this.pendingRender = false;
    this.body = h("div", { class: "assistant-body" });
    this.element = h(
      "div",
      { class: "message assistant", dataset: { testid: "message", role: "assistant", status } },
      h("div", { class: "avatar", "aria-hidden": "true" }, "◆"),
      this.body,
    );
    this.textElement = this.newTextSegment();
  }

  get status() {
    return this.element.dataset.status;
  }

  newTextSegment() {
    const segment = h("div", { class: "markdown", dataset: { testid: "message-text" } });
    this.body.append(segment);
    return segment;
  }

  appendToken(text) {
    this.text += text;
    if (this.pendingRender) return;
    this.pendingRender = true;
    requestAnimationFrame(() => {
      this.pendingRender = false;
      this.renderText();
    });
  }

  setText(text) {
    this.text = text || "";
    this.renderText();
  }

  renderText() {
    renderMarkdown(this.textElement, this.text);
    this.resolveFiles(this.textElement);
  }

  /** Markdown images and links to our files: signed links; a chart already shown above is
   * not shown twice. */
  resolveFiles(root) {
    const shown = new Set([...this.steps.values()].flatMap((step) => [...step.chartIds]));
    for (const img of root.querySelectorAll("img[data-file-id]")) {
      const fileId = img.dataset.fileId;
      if (shown.has(fileId)) {
        const parent = img.parentElement;
        img.remove();
        if (parent && parent.tagName === "P" && !parent.textContent.trim() && !parent.children.length) parent.remove();
        continue;
      }
      shown.add(fileId);
      img.classList.add("chart");
      img.dataset.testid = "chart";
      img.addEventListener("click", () => img.src && openLightbox(img.src, img.alt));
      loadImage(img, fileId);
    }
    for (const anchor of root.querySelectorAll("a[data-file-id]")) {
      linkFile(anchor, anchor.dataset.fileId, anchor.textContent.trim() || "download");
    }
  }

  /** `element` goes after the text so far, which is closed as a segment of its own. */
  placeBlock(element) {
    if (this.pendingRender) {
      this.pendingRender = false;
      this.renderText();
    }
    if (this.text.trim()) {
      this.textElement.dataset.testid = "step-text";
      this.body.append(element);
      this.text = "";
      this.textElement = this.newTextSegment();
    } else {
      this.body.insertBefore(element, this.textElement);
    }
  }

  /** A tool call began: the text so far becomes the step's preamble. */
  startStep(callId, code, toolName) {
    const step = new CodeStep(callId, code, toolName);
    this.steps.set(callId, step);
    this.placeBlock(step.element);
    return step;
  }

  /** In a team turn: a badge when `agent` starts speaking. */
  speaking(agent) {
    if (!agent || agent === this.speaker) return;
    this.speaker = agent;
    this.placeBlock(h("div", { class: "role-badge", dataset: { testid: "role-badge", agent } }, agent));
  }

  /** `from` handed the conversation to `to`. */
  handoff(from, to, reason) {
    this.placeBlock(
      h(
        "div",
        { class: "handoff-line", dataset: { testid: "handoff", from, to } },
        h("span", { class: "handoff-roles" }, `${from} → ${to}`),
        reason ? h("span", { class: "handoff-reason" }, reason) : null,
      ),
    );
  }

  /** Whether a tool call is a team handoff (shown as a handoff line, not a step). */
  isHandoff(toolName, agent) {
    return Boolean(agent) && String(toolName || "").startsWith(HANDOFF_PREFIX);
  }

  refusedHandoff(message) {
    this.placeBlock(h("p", { class: "turn-notice handoff-refused", dataset: { testid: "handoff-refused" } }, `Handoff refused: ${message}`));
  }

  step(callId) {
    return this.steps.get(callId) || this.startStep(callId, null, "tool");
  }

  /** Files not tied to a step (shown after the answer). */
  addLooseArtifacts(files) {
    if (!files.length) return;
    const shelf = h("div", { class: "step-media loose" });
    for (const file of files) {
      if (file.media_type && file.media_type.startsWith("image/") && file.media_type !== "image/svg+xml") {
        shelf.append(chartImage(file.id, file.name));
      } else {
        shelf.append(artifactChip(file.id, file.name, file.size));
      }
    }
    this.body.append(shelf);
  }

  /** The turn is over: `status` complete | failed | cancelled | interrupted (the server
   * stopped before the turn did; what was shown is kept, and Retry asks again). */
  end(status, error) {
    if (this.pendingRender) {
      this.pendingRender = false;
      this.renderText();
    }
    for (const step of this.steps.values()) step.interrupt();
    this.element.dataset.status = status;
    if (status === "failed") this.showError(error || "The answer failed.");
    else if (status === "interrupted") this.showError(error || "The server stopped during the answer.", status);
    else if (status === "cancelled") this.body.append(h("p", { class: "turn-notice" }, "Stopped."));
    else if (error) this.body.append(h("p", { class: "turn-notice" }, error));
  }

  showError(message, status = "failed") {
    this.element.dataset.status = status;
    const retry = this.onRetry
      ? h("button", { type: "button", class: "button small", dataset: { testid: "retry" }, onclick: () => this.onRetry() }, "Retry")
      : null;
    this.body.append(
      h(
        "div",
        { class: "turn-error", role: "alert" },
        h("span", { class: "turn-error-icon", "aria-hidden": "true" }, "!"),
        h("span", { class: "turn-error-text", dataset: { testid: "turn-error" } }, message),
        retry,
      ),
    );
  }
}

/** A stored assistant message (GET /api/conversations/{id}); `files` maps file id -> record. */
export function storedAssistantMessage(message, files, onRetry) {
  const view = new AssistantMessage({ status: message.status, onRetry });
  const results = new Map((message.tool_results || []).map((result) => [result.call_id, result]));
  const placed = new Set();
  for (const call of message.tool_calls || []) {
    if (call.agent && (call.text || !view.isHandoff(call.name, call.agent))) view.speaking(call.agent);
    if (call.text) view.setText(call.text);
    if (view.isHandoff(call.name, call.agent)) {
      const result = results.get(call.id);
      const to = call.name.slice(HANDOFF_PREFIX.length);
      if (result && result.success) view.handoff(call.agent, to, (call.arguments && call.arguments.reason) || "");
      else if (result) view.refusedHandoff((result.error && result.error.value) || "refused");
      continue;
    }
    const code = call.code ?? (call.arguments && call.arguments.code) ?? null;
    const step = view.startStep(call.id, code, call.name);
    const result = results.get(call.id);
    if (!result) {
      step.interrupt();
      continue;
    }
    step.showStored(result.observation, result.success, result.results || []);
    for (const fileId of result.artifact_ids || []) {
      placed.add(fileId);
      const file = files.get(fileId) || { id: fileId, name: "file", media_type: "application/octet-stream" };
      step.addArtifact(file);
    }
    step.finish({ success: result.success, error: null, duration: result.duration });
  }
  if (message.agent && message.content) view.speaking(message.agent);
  view.setText(message.content);
  const loose = (message.artifact_ids || []).filter((id) => !placed.has(id)).map((id) => files.get(id)).filter(Boolean);
  view.addLooseArtifacts(loose);
  if (message.status !== "streaming") view.end(message.status, message.error);
  return view;
}
