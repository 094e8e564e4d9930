// Files of a conversation: picker and drag-and-drop (several at once), the size limit said up
// front and enforced before sending, a progress bar per upload, chips with name and size, and
// a preview of the first rows.
import { api, uploadFile } from "./api.js";
import { clear, formatSize, h } from "./dom.js";
import { icon } from "./icons.js";

let inputCount = 0;

export class FileTray {
  /** `ensureConversation()` resolves to the conversation id files go to (creating it). */
  constructor({ settings, ensureConversation }) {
    this.settings = settings;
    this.ensureConversation = ensureConversation;
    this.files = [];
    inputCount += 1;
    this.input = h("input", {
      type: "file",
      multiple: true,
      id: `file-input-${inputCount}`,
      class: "visually-hidden",
      dataset: { testid: "file-input" },
      onchange: () => {
        const chosen = [...this.input.files];
        this.input.value = "";
        this.upload(chosen);
      },
    });
    this.attachButton = h(
      "label",
      { class: "icon-button attach", for: this.input.id, title: "Add files", "aria-label": "Add files" },
      icon("paperclip"),
    );
    this.chips = h("div", { class: "file-chips" });
    this.progress = h("div", { class: "upload-rows" });
    this.messages = h("div", { class: "upload-messages", "aria-live": "polite" });
    this.preview = h("div", { class: "file-preview-slot" });
    const limit = settings.max_upload_mb;
    this.element = h(
      "div",
      { class: "file-tray" },
      this.input,
      h(
        "div",
        { class: "file-tray-row" },
        this.chips,
        h(
          "span",
          { class: "upload-limit", dataset: { testid: "upload-limit" } },
          `Drop or add files · CSV, TSV, Excel, Parquet, JSON, text, images · max ${limit} MB each`,
        ),
      ),
      this.progress,
      this.messages,
      this.preview,
    );
  }

  /** Make `zone` accept dropped files. */
  acceptDrops(zone) {
    zone.dataset.testid = "drop-zone";
    let depth = 0;
    const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
    zone.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      zone.classList.remove("dragging");
      const dropped = [...(event.dataTransfer?.files || [])];
      if (dropped.length) this.upload(dropped);
    });
  }

  /** Show the uploads already in `conversationId`. */
  async load(conversationId) {
    const files = await api.files(conversationId);
    this.files = files.filter((file) => file.kind === "upload");
    clear(this.chips);
    for (const file of this.files) this.chips.append(this.chip(file));
  }

  chip(file) {
    return h(
      "button",
      {
        type: "button",
        class: "file-chip",
        dataset: { testid: "file-chip", id: file.id },
        title: `Preview ${file.name}`,
        onclick: () => this.showPreview(file),
      },
      icon("table"),
      h("span", { class: "file-chip-name" }, file.name),
      h("span", { class: "file-chip-size" }, formatSize(file.size)),
    );
  }

  say(text, kind = "error") {
    const line = h("div", { class: `upload-message ${kind}`, dataset: { testid: "upload-error" } }, text);
    this.messages.append(line);
    setTimeout(() => line.remove(), 15000);
  }

  async upload(chosen) {
    const limitBytes = this.settings.max_upload_bytes;
    const accepted = [];
    for (const file of chosen) {
      if (file.size > limitBytes) {
        this.say(`${file.name} is ${formatSize(file.size)}, over the ${this.settings.max_upload_mb} MB upload limit: not uploaded.`);
      } else accepted.push(file);
    }
    if (!accepted.length) return;
    let conversationId;
    try {
      conversationId = await this.ensureConversation();
    } catch (error) {
      this.say(error.message);
      return;
    }
    const done = await Promise.all(accepted.map((file) => this.uploadOne(file, conversationId)));
    const uploaded = done.filter(Boolean);
    if (uploaded.length) this.showPreview(uploaded[uploaded.length - 1]);
  }

  async uploadOne(file, conversationId) {
    const bar = h("progress", { max: 1, value: 0, dataset: { testid: "upload-progress" } });
    const row = h("div", { class: "upload-row" }, h("span", { class: "upload-name" }, file.name), bar, h("span", { class: "upload-size" }, formatSize(file.size)));
    this.progress.append(row);
    const { promise } = uploadFile(file, conversationId, (fraction) => {
      bar.value = fraction;
    });
    try {
      const record = await promise;
      this.files.push(record);
      this.chips.append(this.chip(record));
      return record;
    } catch (error) {
      this.say(`${file.name}: ${error.message}`);
      return null;
    } finally {
      row.remove();
    }
  }

  async showPreview(file) {
    const panel = h(
      "div",
      { class: "file-preview", dataset: { testid: "file-preview", id: file.id } },
      h(
        "div",
        { class: "file-preview-head" },
        h("strong", {}, file.name),
        h("span", { class: "muted" }, ` · ${formatSize(file.size)}`),
        h("button", { type: "button", class: "icon-button", "aria-label": "Close preview", onclick: () => clear(this.preview) }, icon("close")),
      ),
      h("div", { class: "muted" }, "Loading preview…"),
    );
    this.preview.replaceChildren(panel);
    let preview;
    try {
      preview = await api.filePreview(file.id);
    } catch (error) {
      panel.lastChild.textContent = `No preview: ${error.message}`;
      return;
    }
    panel.lastChild.replaceWith(previewBody(preview));
  }
}

function previewBody(preview) {
  if (preview.format === "table") {
    const table = h(
      "table",
      { class: "preview-table" },
      h("thead", {}, h("tr", {}, preview.columns.map((name) => h("th", {}, name)))),
      h("tbody", {}, preview.rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))),
    );
    const count = preview.rows.length;
    const rows = `${count} row${count === 1 ? "" : "s"}`;
    const note = [preview.truncated ? `first ${rows}` : rows, preview.note].filter(Boolean).join(" · ");
    return h("div", {}, h("div", { class: "table-scroll" }, table), h("div", { class: "muted small" }, note));
  }
  if (preview.format === "text") return h("pre", { class: "preview-text" }, preview.text);
  return h("div", { class: "muted" }, preview.note || "No preview for this file.");
}
