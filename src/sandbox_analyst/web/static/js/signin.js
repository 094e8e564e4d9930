// The sign-in screen: an API key, checked against GET /api/me and kept in localStorage.
import { ApiError, api, auth } from "./api.js";
import { h } from "./dom.js";

/** Render the sign-in form into `root`; resolves with the user once a key works. */
export function signIn(root, { message = "" } = {}) {
  return new Promise((resolve) => {
    const input = h("input", {
      type: "password",
      name: "api_key",
      autocomplete: "current-password",
      placeholder: "API key",
      "aria-label": "API key",
      required: true,
      dataset: { testid: "key-input" },
    });
    const error = h("p", { class: "form-error", role: "alert", dataset: { testid: "sign-in-error" }, hidden: !message }, message);
    const button = h("button", { type: "submit", class: "button primary wide", dataset: { testid: "sign-in" } }, "Sign in");
    const form = h(
      "form",
      { class: "signin-card", novalidate: true },
      h("div", { class: "brand large" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), "Sandbox Analyst"),
      h("p", { class: "muted" }, "Sign in with your API key. An administrator creates one with ", h("code", {}, "analyst keys create USER"), "."),
      input,
      error,
      button,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        showError("Enter your API key.");
        return;
      }
      button.disabled = true;
      auth.key = key;
      try {
        const me = await api.me();
        resolve(me);
      } catch (failure) {
        auth.key = "";
        showError(failure instanceof ApiError && failure.status === 401 ? "That key was not accepted: check it, or ask for a new one." : failure.message);
      } finally {
        button.disabled = false;
      }
    });
    function showError(text) {
      error.textContent = text;
      error.hidden = false;
      input.focus();
    }
    root.replaceChildren(h("div", { class: "signin-page" }, form));
    input.focus();
  });
}
