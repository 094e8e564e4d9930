// Model answers: markdown rendered by marked, then sanitised (sanitize.js) and highlighted.
import { marked } from "../vendor/marked/marked.esm.js";
import { highlightBlocks } from "./highlight.js";
import { sanitizeMarkdownHtml } from "./sanitize.js";

marked.setOptions({ gfm: true, breaks: false, async: false });

/** Replace `element`'s content with `text` rendered as markdown. */
export function renderMarkdown(element, text) {
  const fragment = sanitizeMarkdownHtml(marked.parse(text || ""));
  for (const table of fragment.querySelectorAll("table")) {
    const scroller = document.createElement("div");
    scroller.className = "table-scroll";
    table.replaceWith(scroller);
    scroller.append(table);
  }
  highlightBlocks(fragment);
  element.replaceChildren(fragment);
}
