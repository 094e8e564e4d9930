// Create or edit an assistant; the API's validation messages appear next to their field.
// Someone else's public assistant is shown read-only.
import { api } from "./api.js";
import { h } from "./dom.js";
import { confirmDialog } from "./overlays.js";
import { teamEditor } from "./team-editor.js";

const NUMBER_FIELDS = {
  timeout_s: { label: "Timeout per cell (s)", step: "any", min: 1, max: 3600, parse: Number.parseFloat },
  memory_mb: { label: "Memory (MB)", step: 1, min: 512, max: 262144, parse: (v) => Number.parseInt(v, 10) },
  max_iterations: { label: "Max model calls per turn", step: 1, min: 1, max: 100, parse: (v) => Number.parseInt(v, 10) },
};

/** Render the editor for `assistant` (null: a new one) into a new element.
 * `shell`: {me, navigate(hash), refreshSidebar(), startWith(assistantId)} */
export function assistantEditor(assistant, shell) {
  const editable = !assistant || assistant.owner_id === shell.me.id || shell.me.role === "admin";
  const errors = {};
  const fieldError = (name) => {
    errors[name] = h("p", { class: "field-error", role: "alert", dataset: { testid: "field-error", field: name }, hidden: true });
    return errors[name];
  };
  const value = (name, fallback = "") => (assistant && assistant[name] !== null && assistant[name] !== undefined ? assistant[name] : fallback);

  const field = (name, label, control, hint) =>
    h("div", { class: "field" }, h("label", { for: `assistant-${name}` }, label), control, hint ? h("p", { class: "hint muted small" }, hint) : null, fieldError(name));

  const input = (name, attributes = {}) => h("input", { id: `assistant-${name}`, name, disabled: !editable, value: String(value(name)), ...attributes });

  const visibility = h(
    "select",
    { id: "assistant-visibility", name: "visibility", disabled: !editable },
    h("option", { value: "private" }, "Private: only me"),
    h("option", { value: "public" }, "Public: everyone can use it"),
  );
  visibility.value = value("visibility", "private");

  const provider = h(
    "select",
    { id: "assistant-provider", name: "provider", disabled: !editable },
    h("option", { value: "" }, "Server default"),
    h("option", { value: "openai" }, "OpenAI-compatible"),
    h("option", { value: "anthropic" }, "Anthropic"),
  );
  provider.value = value("provider", "");

  const mode = h(
    "select",
    { id: "assistant-mode", name: "mode", disabled: !editable, dataset: { testid: "assistant-mode" } },
    h("option", { value: "single" }, "One analyst"),
    h("option", { value: "team" }, "A team: planner, coder, analyst handing off"),
  );
  mode.value = value("mode", "single");
  // A new assistant gets the default team; its roles can be edited once it exists.
  const team = assistant ? teamEditor(assistant.team, editable) : null;
  const teamHint = h("p", { class: "hint muted small" }, "It starts with the default team (Planner, CodeAgent, AnalystAgent); edit the roles after creating it.");
  const showTeam = () => {
    const on = mode.value === "team";
    if (team) team.element.hidden = !on;
    teamHint.hidden = Boolean(team) || !on;
  };
  mode.addEventListener("change", showTeam);
  showTeam();

  // The sandbox template: the built ones are offered; the current one stays listed even when
  // it is not usable now (so saving does not change it silently).
  const current = value("template", "");
  const template = h(
    "select",
    { id: "assistant-template", name: "template", disabled: !editable, dataset: { testid: "assistant-template" } },
    h("option", { value: "" }, "default (the server's environment)"),
    current ? h("option", { value: current }, current) : null,
  );
  template.value = current;
  // What the chosen template lets its sandboxes reach, once the templates have loaded.
  let templateEgress = new Map();
  const templateEgressNote = h("span", { dataset: { testid: "template-egress" } });
  const showTemplateEgress = () => {
    const allowed = templateEgress.get(template.value || "default");
    templateEgressNote.textContent = allowed === undefined || allowed === null ? " as its template allows (the server's list)" : ` as its template allows (${allowed.length ? allowed.join(", ") : "no network"})`;
  };
  template.addEventListener("change", showTemplateEgress);
  showTemplateEgress();
  api
    .templates()
    .then((templates) => {
      const options = [h("option", { value: "" }, "default (the server's environment)")];
      for (const item of templates) {
        if (item.name === "default" || (!item.usable && item.name !== current)) continue;
        const label = item.usable ? item.name : `${item.name} (${item.state})`;
        options.push(h("option", { value: item.name, title: item.description || "" }, item.description ? `${label}: ${item.description}` : label));
      }
      if (current && !templates.some((item) => item.name === current)) options.push(h("option", { value: current }, `${current} (missing)`));
      template.replaceChildren(...options);
      template.value = current;
      templateEgress = new Map(templates.map((item) => [item.name, item.egress]));
      showTemplateEgress();
    })
    .catch(() => {}); // the select keeps the current value; saving reports any problem

  // Network access: an admin's allow-list narrowing what its template allows (null: as the
  // template allows). Only admins may change it; others see it.
  const mayNarrow = editable && shell.me.role === "admin";
  const egress = value("egress", null);
  const egressAsTemplate = h("input", { id: "assistant-egress", name: "egress_as_template", type: "checkbox", disabled: !mayNarrow, checked: egress === null, dataset: { testid: "assistant-egress-as-template" } });
  const egressEntries = h("textarea", { name: "egress", rows: 3, disabled: !mayNarrow || egress === null, placeholder: "one host:port per line, e.g. data.example.com:443; empty: no network", dataset: { testid: "assistant-egress" } }, (egress || []).join("\n"));
  egressAsTemplate.addEventListener("change", () => {
    egressEntries.disabled = !mayNarrow || egressAsTemplate.checked;
  });

  const allowInstalls = h("input", { id: "assistant-allow_installs", name: "allow_installs", type: "checkbox", disabled: !editable, checked: Boolean(value("allow_installs", false)) });
  const allowedPackages = input("allowed_packages", { placeholder: "faker, regex>=2024", value: (value("allowed_packages", []) || []).join(", ") });

  // Database connections it may query: all of the user's (null), or only the ones ticked.
  const chosen = value("connections", null);
  const allConnections = h("input", { id: "assistant-connections", name: "connections_all", type: "checkbox", disabled: !editable, checked: chosen === null, dataset: { testid: "assistant-connections-all" } });
  const connectionList = h("div", { class: "connection-list", dataset: { testid: "assistant-connections" } });
  const showConnections = () => {
    for (const box of connectionList.querySelectorAll("input")) box.disabled = !editable || allConnections.checked;
  };
  allConnections.addEventListener("change", showConnections);
  api
    .connections()
    .then((connections) => {
      const ticked = new Set(chosen || []);
      connectionList.replaceChildren(
        ...(connections.length
          ? connections.map((item) =>
              h(
                "label",
                { class: "checkbox" },
                h("input", { type: "checkbox", name: "connections", value: item.id, checked: ticked.has(item.id) }),
                h("span", {}, ` ${item.name} (${item.dialect}${item.shared ? ", shared" : ""})`),
              ),
            )
          : [h("p", { class: "muted small" }, "No connections yet (analyst connections add NAME URL).")]),
      );
      showConnections();
    })
    .catch(() => {});

  // Tools of the MCP servers an admin registered: each tool, or every tool of a server
  // (server/*). An entry the catalog no longer lists (a server removed or unreachable) stays
  // ticked, marked, so that saving does not silently drop it.
  const chosenTools = new Set(value("mcp_tools", []) || []);
  const mcpToolList = h("div", { class: "connection-list", dataset: { testid: "assistant-mcp-tools" } });
  const mcpBox = (entry, label, title) =>
    h("label", { class: "checkbox", title: title || "" }, h("input", { type: "checkbox", name: "mcp_tools", value: entry, disabled: !editable, checked: chosenTools.has(entry) }), h("span", {}, ` ${label}`));
  api
    .mcpTools()
    .then((catalog) => {
      const listed = new Set();
      const groups = catalog.map((server) => {
        const every = `${server.server}/*`;
        listed.add(every);
        const boxes = server.tools.map((tool) => {
          listed.add(tool.entry);
          return mcpBox(tool.entry, tool.name, tool.description);
        });
        const note = server.error ? [h("p", { class: "muted small" }, `Its tools cannot be listed now: ${server.error}`)] : [];
        return h("div", {}, mcpBox(every, `${server.server}: every tool${server.description ? ` (${server.description})` : ""}`), h("div", { class: "connection-list" }, ...boxes), ...note);
      });
      const stale = [...chosenTools].filter((entry) => !listed.has(entry)).map((entry) => mcpBox(entry, `${entry} (not available now)`));
      const empty = [h("p", { class: "muted small" }, "No MCP servers yet (an admin adds one with analyst mcp-servers add).")];
      mcpToolList.replaceChildren(...(groups.length || stale.length ? [...groups, ...stale] : empty));
    })
    .catch(() => {
      mcpToolList.replaceChildren(...[...chosenTools].map((entry) => mcpBox(entry, entry)));
    });

  const formError = fieldError("form");
  const saved = h("span", { class: "saved muted", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "button primary", dataset: { testid: "assistant-save" }, hidden: !editable }, assistant ? "Save" : "Create assistant");

  const form = h(
    "form",
    { class: "assistant-form", dataset: { testid: "assistant-form" }, novalidate: true },
    field("name", "Name", input("name", { maxlength: 200, required: true, placeholder: "Sales analyst" })),
    field("description", "Description", input("description", { maxlength: 2000, placeholder: "What it is for" })),
    field(
      "instructions",
      "Instructions",
      h("textarea", { id: "assistant-instructions", name: "instructions", rows: 6, disabled: !editable, placeholder: "How it should work: conventions, which columns matter, the tone of answers…" }, String(value("instructions"))),
    ),
    h(
      "div",
      { class: "field-row" },
      field("provider", "Provider", provider),
      field("model", "Model", input("model", { placeholder: "server default", maxlength: 100 }), "e.g. gpt-4o-mini, claude-sonnet-4-5, llama3.1"),
    ),
    h(
      "div",
      { class: "field-row three" },
      ...Object.entries(NUMBER_FIELDS).map(([name, spec]) =>
        field(name, spec.label, input(name, { type: "number", step: spec.step, min: spec.min, max: spec.max, placeholder: "default" })),
      ),
    ),
    field("template", "Sandbox template", template, "Which packages its sandboxes have (admins build templates with `analyst templates build`)."),
    h(
      "div",
      { class: "field-row" },
      field("allow_installs", "Approved installs", h("div", { class: "checkbox" }, allowInstalls, h("span", {}, " may ask the server to install packages"))),
      field("allowed_packages", "Packages it may install", allowedPackages, "Others wait for an admin's approval (analyst packages pending)."),
    ),
    field(
      "connections",
      "Databases it may query",
      h("div", {}, h("div", { class: "checkbox" }, allConnections, h("span", {}, " every connection of the person chatting")), connectionList),
      "Read-only, with list_tables, describe_table and query_database.",
    ),
    field("mcp_tools", "Tools from MCP servers", mcpToolList, "Called by the server (never the sandbox) with the call timeout; every call is logged."),
    field(
      "egress",
      "Network access",
      h("div", {}, h("div", { class: "checkbox" }, egressAsTemplate, templateEgressNote), egressEntries),
      "Set by admins. A connection must pass this list, the template's and the server's (sandbox.egress.allow).",
    ),
    field("visibility", "Who can use it", visibility),
    field("mode", "Mode", mode),
    teamHint,
    team ? team.element : null,
    fieldError("team"),
    formError,
    h("div", { class: "form-actions" }, save, saved),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const element of Object.values(errors)) element.hidden = true;
    saved.textContent = "";
    const fields = collect(form, Boolean(assistant));
    if (fields === null) return;
    save.disabled = true;
    try {
      const result = assistant ? await api.updateAssistant(assistant.id, fields) : await api.createAssistant(fields);
      await shell.refreshSidebar();
      if (!assistant) shell.navigate(`#/assistants/${result.id}`);
      else {
        Object.assign(assistant, result);
        saved.textContent = "Saved";
      }
    } catch (error) {
      const target = errors[error.field] || formError;
      // Next to its field, "memory_mb: must be..." reads better without the field's name.
      const prefix = `${error.field}: `;
      target.textContent = target !== formError && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      target.hidden = false;
    } finally {
      save.disabled = false;
    }
  });

  function collect(formElement, isUpdate) {
    const data = new FormData(formElement);
    const fields = {
      name: String(data.get("name") || "").trim(),
      description: String(data.get("description") || ""),
      instructions: String(data.get("instructions") || ""),
      provider: data.get("provider") || null,
      model: String(data.get("model") || "").trim() || null,
      visibility: data.get("visibility"),
      mode: data.get("mode") || "single",
      template: data.get("template") || null,
      allow_installs: data.get("allow_installs") === "on",
      allowed_packages: String(data.get("allowed_packages") || "")
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean),
    };
    fields.connections = data.get("connections_all") === "on" ? null : data.getAll("connections").map(String);
    fields.mcp_tools = [...new Set(data.getAll("mcp_tools").map(String))];
    // Sent only by admins: anyone else's save would be refused for touching it.
    if (mayNarrow) {
      fields.egress = egressAsTemplate.checked
        ? null
        : String(egressEntries.value)
            .split("\n")
            .map((entry) => entry.trim())
            .filter(Boolean);
    }
    if (team && fields.mode === "team") fields.team = team.collect();
    let valid = true;
    for (const [name, spec] of Object.entries(NUMBER_FIELDS)) {
      const raw = String(data.get(name) || "").trim();
      if (!raw) {
        fields[name] = null;
        continue;
      }
      const parsed = spec.parse(raw);
      if (Number.isNaN(parsed)) {
        errors[name].textContent = "Enter a number.";
        errors[name].hidden = false;
        valid = false;
      } else fields[name] = parsed;
    }
    if (!isUpdate) for (const key of Object.keys(fields)) if (fields[key] === null) delete fields[key];
    return valid ? fields : null;
  }

  const actions = [];
  if (assistant) {
    actions.push(h("button", { type: "button", class: "button", onclick: () => shell.startWith(assistant.id) }, "Start an analysis with it"));
    if (editable) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "button danger-outline",
            dataset: { testid: "assistant-delete" },
            onclick: async () => {
              if (!(await confirmDialog(`Delete the assistant “${assistant.name}”?`))) return;
              try {
                await api.deleteAssistant(assistant.id);
              } catch (error) {
                formError.textContent = error.message;
                formError.hidden = false;
                return;
              }
              await shell.refreshSidebar();
              shell.navigate("#/new");
            },
          },
          "Delete",
        ),
      );
    }
  }

  const heading = assistant ? assistant.name : "New assistant";
  return h(
    "section",
    { class: "page assistant-page" },
    h(
      "header",
      { class: "page-head" },
      h("h1", {}, heading, assistant && assistant.visibility === "public" ? h("span", { class: "badge public" }, "public") : null),
      h("div", { class: "page-actions" }, actions),
    ),
    editable ? null : h("p", { class: "muted" }, "A public assistant shared by someone else: you can use it, not change it."),
    form,
  );
}
