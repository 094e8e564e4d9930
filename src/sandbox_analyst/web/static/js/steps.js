// One code step of an answer: the code (highlighted), a running indicator while it executes,
// its stdout / stderr / results, DataFrame tables, charts and files.
import { formatSize, h } from "./dom.js";
import { linkFile, loadImage } from "./file-links.js";
import { cellLanguage, highlightInto } from "./highlight.js";
import { icon } from "./icons.js";
import { openLightbox } from "./overlays.js";
import { sanitizeTableHtml } from "./sanitize.js";

// Terminal colour codes in IPython tracebacks.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function chartImage(fileId, name) {
  const img = h("img", {
    class: "chart",
    alt: name || "chart",
    loading: "lazy",
    dataset: { testid: "chart" },
    title: "Click to enlarge",
    onclick: () => img.src && openLightbox(img.src, img.alt),
  });
  loadImage(img, fileId);
  return img;
}

export function artifactChip(fileId, name, size) {
  const anchor = h(
    "a",
    { class: "artifact", dataset: { testid: "artifact" }, title: `Download ${name}` },
    icon("download"),
    h("span", { class: "artifact-name" }, name),
    size !== undefined && size !== null ? h("span", { class: "artifact-size" }, formatSize(size)) : null,
  );
  linkFile(anchor, fileId, name);
  return anchor;
}

// A stored step keeps only what the model was sent (agent/observation.py): fixed sections,
// of which stdout, stderr, error and results are worth showing again.
const EMPTY_SECTION = new Set(["(empty)", "(none)"]);

/** {stdout, stderr, error, results} of an observation, or null when it is not in that layout. */
export function observationSections(observation) {
  const text = `\n${observation}\n`;
  // Agent-written sections are found from the end, the user's output from the start: text
  // printed by the code cannot move the boundaries of the sections after it.
  const notes = text.lastIndexOf("\nnotes:\n");
  const files = text.lastIndexOf("\nfiles:\n", notes);
  const stdout = text.indexOf("\nstdout:\n");
  const results = text.lastIndexOf("\nresults:\n", files);
  const error = text.lastIndexOf("\nerror:\n", results);
  const stderr = text.lastIndexOf("\nstderr:\n", error);
  const marks = [stdout, stderr, error, results, files];
  if (marks.some((mark) => mark < 0) || marks.some((mark, i) => i && mark <= marks[i - 1])) return null;
  const section = (start, name, end) => {
    const body = text.slice(start + name.length + 3, end);
    return EMPTY_SECTION.has(body.trim()) ? "" : body;
  };
  return {
    stdout: section(stdout, "stdout", stderr),
    stderr: section(stderr, "stderr", error),
    error: section(error, "error", results),
    results: section(results, "results", files),
  };
}

export class CodeStep {
  constructor(callId, code, toolName = "execute_code") {
    this.callId = callId;
    this.chartIds = new Set();
    this.started = Date.now();
    this.output = null;
    this.status = h("span", { class: "step-status" });
    this.timer = h("span", { class: "step-timer" });
    const source = h("code", { dataset: { testid: "code-source" } });
    if (code !== null && code !== undefined) highlightInto(source, code, cellLanguage(code));
    else source.textContent = toolName;
    this.details = h(
      "details",
      { class: "step-details", open: true },
      h("summary", {}, h("span", { class: "step-icon", "aria-hidden": "true" }), this.status, this.timer),
      h("pre", { class: "code-block" }, source),
    );
    this.media = h("div", { class: "step-media" });
    this.element = h(
      "div",
      { class: "step", dataset: { testid: "code-step", state: "running", callId } },
      this.details,
      this.media,
    );
    this.setState("running");
    this.tick = setInterval(() => this.showElapsed(), 500);
  }

  showElapsed(seconds = (Date.now() - this.started) / 1000) {
    this.timer.textContent = seconds >= 0.05 ? `${seconds.toFixed(1)} s` : "";
  }

  setState(state) {
    this.element.dataset.state = state;
    this.status.textContent = { running: "Running code…", done: "Ran code", error: "Code failed" }[state];
  }

  outputElement() {
    if (!this.output) {
      this.output = h("pre", { class: "step-output", dataset: { testid: "step-output" } });
      this.details.append(this.output);
    }
    return this.output;
  }

  appendOutput(text, stream = "stdout") {
    if (!text) return;
    const output = this.outputElement();
    const last = output.lastElementChild;
    if (last && last.dataset.stream === stream) last.append(text);
    else output.append(h("span", { class: `stream-${stream}`, dataset: { stream } }, text));
    output.scrollTop = output.scrollHeight;
  }

  addResult({ text, html }) {
    if (html) {
      this.details.append(h("div", { class: "html-result table-scroll", dataset: { testid: "html-result" } }, sanitizeTableHtml(html)));
    } else if (text) {
      this.appendOutput(text.endsWith("\n") ? text : `${text}\n`, "result");
    }
  }

  addArtifact({ id, name, media_type: mediaType, size }) {
    if (mediaType && mediaType.startsWith("image/") && mediaType !== "image/svg+xml") {
      this.chartIds.add(id);
      this.media.append(chartImage(id, name));
    } else {
      this.media.append(artifactChip(id, name, size));
    }
  }

  /** Show a stored step (the turn was reloaded): its observation, and the tables among its
   * rich `results` ({text, html}); a table replaces the text view the observation has of it. */
  showStored(observation, success, results = []) {
    const tables = results.filter((result) => result && result.html);
    this.showObservation(observation || "", success, { withResults: !tables.length });
    for (const table of tables) this.addResult({ html: table.html });
  }

  showObservation(observation, success, { withResults = true } = {}) {
    const sections = observationSections(observation);
    if (!sections) {
      this.appendOutput(observation, success ? "stdout" : "error");
      return;
    }
    for (const [name, stream] of [["stdout", "stdout"], ["stderr", "stderr"], ["results", "result"], ["error", "error"]]) {
      const body = name === "results" && !withResults ? "" : sections[name];
      if (body) this.appendOutput(body.endsWith("\n") ? body : `${body}\n`, stream);
    }
  }

  /** The tool call ended (`error`: {name, value, traceback} or null). */
  finish({ success, error, duration }) {
    clearInterval(this.tick);
    if (typeof duration === "number") this.showElapsed(duration);
    if (error) {
      const traceback = Array.isArray(error.traceback) ? error.traceback.join("\n") : error.traceback;
      const text = traceback ? traceback.replace(ANSI, "") : `${error.name}: ${error.value}`;
      this.appendOutput(text.endsWith("\n") ? text : `${text}\n`, "error");
    }
    this.setState(success === false || error ? "error" : "done");
  }

  /** The turn ended while this step still ran (stopped, or failed). */
  interrupt() {
    if (this.element.dataset.state !== "running") return;
    clearInterval(this.tick);
    this.setState("error");
    this.status.textContent = "Interrupted";
  }
}
