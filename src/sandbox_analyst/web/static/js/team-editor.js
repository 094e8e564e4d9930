// The team of an assistant in team mode: one fieldset per role (name, instructions, tools,
// handoffs, whether it may end the turn) and the team's limits. The API checks the team when
// it is saved and names what to change.
import { h } from "./dom.js";

const list = (text) =>
  String(text || "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/** `team`: {roles, max_messages, token_budget, timeout_s} as the API returns it. Returns
 * {element, collect()}; `collect()` gives the team to send. */
export function teamEditor(team, editable) {
  const roles = h("div", { class: "team-roles", dataset: { testid: "team-roles" } });
  const addRole = (role) => roles.append(roleFieldset(role, editable));
  for (const role of team.roles) addRole(role);

  const limit = (name, label, value, attributes) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `team-${name}` }, label),
      h("input", { id: `team-${name}`, name: `team-${name}`, type: "number", disabled: !editable, value: value ?? "", placeholder: "none", ...attributes }),
    );
  const limits = h(
    "div",
    { class: "field-row three" },
    limit("max_messages", "Max messages per turn", team.max_messages, { min: 1, max: 200, step: 1 }),
    limit("token_budget", "Token budget per turn", team.token_budget, { min: 1, step: 1 }),
    limit("timeout_s", "Time per turn (s)", team.timeout_s, { min: 1, max: 3600, step: "any" }),
  );
  const add = h(
    "button",
    { type: "button", class: "button small", hidden: !editable, onclick: () => addRole({ name: "", instructions: "", tools: [], handoffs: [], can_terminate: false }) },
    "Add a role",
  );
  const element = h(
    "fieldset",
    { class: "team-editor", dataset: { testid: "team-editor" } },
    h("legend", {}, "Team"),
    h("p", { class: "hint muted small" }, "The first role speaks first. Handoffs name the roles a role may pass the conversation to; the role that may end the turn answers the user."),
    roles,
    add,
    limits,
  );

  function collect() {
    const number = (name) => {
      const raw = String(element.querySelector(`[name="team-${name}"]`).value || "").trim();
      return raw ? Number(raw) : null;
    };
    return {
      roles: [...roles.querySelectorAll(".team-role")].map((fieldset) => ({
        name: fieldset.querySelector('[name="role-name"]').value.trim(),
        instructions: fieldset.querySelector('[name="role-instructions"]').value,
        tools: list(fieldset.querySelector('[name="role-tools"]').value),
        handoffs: list(fieldset.querySelector('[name="role-handoffs"]').value),
        can_terminate: fieldset.querySelector('[name="role-can-terminate"]').checked,
      })),
      max_messages: number("max_messages") ?? 30,
      token_budget: number("token_budget"),
      timeout_s: number("timeout_s"),
    };
  }

  return { element, collect };
}

function roleFieldset(role, editable) {
  const input = (name, value, attributes = {}) => h("input", { name, value, disabled: !editable, ...attributes });
  const field = (label, control) => h("label", { class: "field" }, h("span", {}, label), control);
  const terminate = h("input", { type: "checkbox", name: "role-can-terminate", disabled: !editable });
  terminate.checked = Boolean(role.can_terminate);
  const fieldset = h(
    "fieldset",
    { class: "team-role", dataset: { testid: "team-role", role: role.name } },
    h(
      "div",
      { class: "field-row" },
      field("Role", input("role-name", role.name, { maxlength: 40, placeholder: "e.g. Reviewer" })),
      field("May end the turn", terminate),
    ),
    field(
      "Instructions",
      h("textarea", { name: "role-instructions", rows: 4, disabled: !editable }, role.instructions || ""),
    ),
    h(
      "div",
      { class: "field-row" },
      field("Tools", input("role-tools", (role.tools || []).join(", "), { placeholder: "execute_code, read_file" })),
      field("Hands off to", input("role-handoffs", (role.handoffs || []).join(", "), { placeholder: "Planner" })),
    ),
  );
  if (editable) {
    fieldset.append(
      h("button", { type: "button", class: "button small danger-outline", onclick: () => fieldset.remove() }, "Remove role"),
    );
  }
  return fieldset;
}
