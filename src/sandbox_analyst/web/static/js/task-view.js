// The Tasks view: start an agent task (prompt, input files, confirm mode, limits), list mine,
// and follow one (#/tasks/<id>): its steps as they happen, a command waiting for my answer, then
// its summary and files (with diffs), each downloadable, or all of them as a zip.
import { ApiError, auth, errorFrom, request } from "./api.js";
import { append, clear, formatSize, h } from "./dom.js";
import { readEvents } from "./sse.js";

const FINISHED_LABEL = { complete: "complete", max_steps: "out of steps", timed_out: "out of time", failed: "failed", cancelled: "cancelled", interrupted: "interrupted", running: "running" };

function taskPath(id, rest = "") {
  return `/api/tasks/${encodeURIComponent(id)}${rest}`;
}

async function authorisedFetch(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { ...auth.headers(), ...(init.headers || {}) } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server cannot be reached. Is `analyst serve` running?");
  }
  if (!response.ok) {
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: errorFrom shows the text
    }
    const error = errorFrom(response.status, body);
    if (response.status === 401) auth.onUnauthorized(error);
    throw error;
  }
  return response;
}

/** Download `path` (sent with the API key) as a file named `name`. */
async function download(path, name) {
  const blob = await (await authorisedFetch(path)).blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function statusBadge(status) {
  return h("span", { class: `badge task-status status-${status}`, dataset: { testid: "task-status" } }, FINISHED_LABEL[status] || status);
}

/** #/tasks: the form to start one, and my tasks, newest first. */
export function tasksPage(shell) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const prompt = h("textarea", { class: "input", rows: 4, required: true, placeholder: "Create a simple Python calculator: calculator.py and a README.md with usage examples", dataset: { testid: "task-prompt" } });
  const files = h("input", { type: "file", multiple: true, dataset: { testid: "task-files" } });
  const confirm = h("input", { type: "checkbox", dataset: { testid: "task-confirm" } });
  const maxSteps = h("input", { class: "input narrow", type: "number", min: 1, max: 100, placeholder: "default", dataset: { testid: "task-max-steps" } });
  const timeout = h("input", { class: "input narrow", type: "number", min: 1, placeholder: "default", dataset: { testid: "task-timeout" } });
  const start = h("button", { type: "submit", class: "button primary", dataset: { testid: "task-start" } }, "Start task");
  const list = h("ul", { class: "task-list", dataset: { testid: "task-list" } }, h("li", { class: "muted" }, "Loading…"));

  async function submit(event) {
    event.preventDefault();
    error.hidden = true;
    const form = new FormData();
    form.append("prompt", prompt.value);
    if (confirm.checked) form.append("permission", "confirm");
    if (maxSteps.value) form.append("max_steps", maxSteps.value);
    if (timeout.value) form.append("timeout", timeout.value);
    for (const file of files.files) form.append("files", file, file.name);
    start.disabled = true;
    try {
      const response = await authorisedFetch("/api/tasks", { method: "POST", body: form, headers: { Accept: "application/json" } });
      const task = await response.json();
      shell.navigate(`#/tasks/${encodeURIComponent(task.id)}`);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      start.disabled = false;
    }
  }

  request("GET", "/api/tasks")
    .then((tasks) => {
      clear(list);
      if (!tasks.length) list.append(h("li", { class: "muted" }, "No tasks yet"));
      for (const task of tasks) {
        list.append(
          h(
            "li",
            { class: "task-item", dataset: { testid: "task-item", id: task.id } },
            h("a", { href: `#/tasks/${encodeURIComponent(task.id)}` }, task.prompt.slice(0, 120)),
            " ",
            statusBadge(task.status),
            h("span", { class: "muted small" }, ` ${new Date(task.created_at).toLocaleString()}`),
          ),
        );
      }
    })
    .catch((failure) => {
      clear(list).append(h("li", { class: "form-error" }, failure.message));
    });

  return h(
    "div",
    { class: "tasks-page", dataset: { testid: "tasks-page" } },
    h("h1", {}, "Tasks"),
    h("p", { class: "muted" }, "A coding agent carries out the task in a fresh sandbox: it can run commands and read, write and edit files there, and nowhere else."),
    h(
      "form",
      { class: "task-form", onsubmit: submit },
      h("label", {}, "What should it do?", prompt),
      h("label", {}, "Input files ", files),
      h("label", { class: "inline" }, confirm, " Ask me before each command"),
      h("div", { class: "row" }, h("label", {}, "Max steps ", maxSteps), h("label", {}, "Timeout (s) ", timeout)),
      error,
      start,
    ),
    h("h2", {}, "My tasks"),
    list,
  );
}

/** #/tasks/<id>: one task, followed live while it runs. Returns {element, close()}. */
export function taskPage(task, shell) {
  const steps = h("ol", { class: "task-steps", dataset: { testid: "task-steps" } });
  const result = h("section", { class: "task-result", dataset: { testid: "task-result" } });
  const status = h("span", {}, statusBadge(task.status));
  const cancel = h("button", { type: "button", class: "button", dataset: { testid: "task-cancel" }, hidden: task.status !== "running", onclick: () => request("POST", taskPath(task.id, "/cancel")) }, "Cancel");
  const controller = new AbortController();
  const outputs = new Map(); // call_id -> the <pre> its output streams into

  function add(...children) {
    const item = h("li", { class: "task-step" }, ...children);
    steps.append(item);
    return item;
  }

  function confirmation(data) {
    const answer = (allow) => async () => {
      box.querySelectorAll("button").forEach((button) => (button.disabled = true));
      try {
        await request("POST", taskPath(task.id, `/confirmations/${encodeURIComponent(data.confirmation_id)}`), { json: { allow, reason: allow ? "" : "refused in the web UI" } });
      } catch (failure) {
        box.append(h("p", { class: "form-error" }, failure.message));
      }
    };
    const box = add(
      h("div", { class: "confirm-box", dataset: { testid: "confirm-box" } }, h("p", {}, "The agent wants to run:"), h("pre", {}, data.command)),
      h("button", { type: "button", class: "button primary", dataset: { testid: "confirm-allow" }, onclick: answer(true) }, "Allow"),
      h("button", { type: "button", class: "button", dataset: { testid: "confirm-refuse" }, onclick: answer(false) }, "Refuse"),
    );
  }

  function show(kind, data) {
    if (kind === "message") add(h("p", { class: "task-message" }, data.text));
    else if (kind === "tool_call") {
      const shown = data.tool === "bash" ? `$ ${data.arguments.command ?? ""}` : `${data.tool} ${data.arguments.path ?? data.arguments.pattern ?? ""}`;
      add(h("code", { class: "task-call", dataset: { testid: "task-call" } }, shown));
    } else if (kind === "stdout" || kind === "stderr") {
      // Made on the first output, so that it follows the command's confirmation, if any.
      let output = outputs.get(data.call_id);
      if (!output) {
        output = h("pre", { class: "task-output" });
        outputs.set(data.call_id, output);
        add(output);
      }
      output.append(kind === "stderr" ? h("span", { class: "stderr" }, data.text) : data.text);
    } else if (kind === "tool_result" && !data.success) {
      add(h("p", { class: "form-error" }, `${data.error?.name ?? "failed"}: ${data.error?.value ?? ""}`));
    } else if (kind === "confirm") confirmation(data);
    else if (kind === "confirm_answer") add(h("p", { class: "muted small" }, data.allowed ? "allowed" : "refused"));
    else if (kind === "error") add(h("p", { class: "form-error" }, data.message));
    else if (kind === "task_end") finished(data);
  }

  function finished(end) {
    cancel.hidden = true;
    status.replaceChildren(statusBadge(end.status));
    append(clear(result), [
      h("h2", {}, "Result"),
      end.summary ? h("p", { class: "task-summary", dataset: { testid: "task-summary" } }, end.summary) : null,
      end.error ? h("p", { class: "muted" }, end.error) : null,
    ]);
    const files = end.files || [];
    if (!files.length) {
      result.append(h("p", { class: "muted" }, "No files were created or changed."));
      return;
    }
    const rows = files.map((file) =>
      h(
        "li",
        { class: "task-file", dataset: { testid: "task-file", path: file.path } },
        h("span", { class: "badge" }, file.change),
        ` ${file.path} `,
        h("span", { class: "muted small" }, file.change === "deleted" ? "" : `${formatSize(file.size)} `),
        file.downloadable
          ? h("button", { type: "button", class: "link-button", dataset: { testid: "task-file-download" }, onclick: () => download(taskPath(task.id, `/files/${file.path.split("/").map(encodeURIComponent).join("/")}`), file.path.split("/").pop()) }, "Download")
          : null,
        file.diff ? h("pre", { class: "task-diff", dataset: { testid: "task-diff" } }, file.diff) : null,
      ),
    );
    result.append(
      h("ul", { class: "task-files" }, rows),
      h("button", { type: "button", class: "button", dataset: { testid: "task-zip" }, onclick: () => download(taskPath(task.id, "/result.zip"), `task-${task.id}.zip`) }, "Download all (zip)"),
    );
  }

  async function follow() {
    try {
      const response = await authorisedFetch(taskPath(task.id, "/events"), { headers: { Accept: "text/event-stream" }, signal: controller.signal });
      for await (const { event, data } of readEvents(response)) show(event, data);
    } catch (failure) {
      if (failure.name !== "AbortError") add(h("p", { class: "form-error", role: "alert" }, failure.message));
    }
  }
  follow();

  const element = h(
    "div",
    { class: "task-page", dataset: { testid: "task-page" } },
    h("p", {}, h("a", { href: "#/tasks" }, "← Tasks")),
    h("h1", { class: "task-prompt" }, task.prompt),
    h("p", {}, status, " ", cancel),
    steps,
    result,
  );
  return { element, close: () => controller.abort() };
}
