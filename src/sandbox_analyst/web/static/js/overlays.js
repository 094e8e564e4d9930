// Things that sit above the page: the chart lightbox and the confirmation dialog.
import { h } from "./dom.js";
import { icon } from "./icons.js";

let lightbox = null;

export function openLightbox(src, alt) {
  closeLightbox();
  const image = h("img", { src, alt: alt || "chart", class: "lightbox-image" });
  lightbox = h(
    "div",
    {
      class: "lightbox",
      dataset: { testid: "lightbox" },
      role: "dialog",
      "aria-modal": "true",
      "aria-label": "Enlarged chart",
      onclick: closeLightbox,
    },
    h("button", { class: "lightbox-close", "aria-label": "Close", type: "button" }, icon("close")),
    image,
  );
  document.body.append(lightbox);
}

export function closeLightbox() {
  if (!lightbox) return false;
  lightbox.remove();
  lightbox = null;
  return true;
}

/** An in-page confirmation: resolves true when `confirm-yes` is clicked. */
export function confirmDialog(message, { confirmLabel = "Delete", danger = true } = {}) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", dataset: { testid: "confirm-dialog" } },
      h("p", {}, message),
      h(
        "div",
        { class: "confirm-actions" },
        h("button", { type: "button", class: "button", dataset: { testid: "confirm-no" }, onclick: () => finish(false) }, "Cancel"),
        h(
          "button",
          { type: "button", class: danger ? "button danger" : "button primary", dataset: { testid: "confirm-yes" }, onclick: () => finish(true) },
          confirmLabel,
        ),
      ),
    );
    function finish(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
