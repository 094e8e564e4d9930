// Syntax highlighting: highlight.js core with the few languages an analysis shows.
import hljs from "../vendor/highlightjs/core.min.js";
import bash from "../vendor/highlightjs/languages/bash.min.js";
import json from "../vendor/highlightjs/languages/json.min.js";
import python from "../vendor/highlightjs/languages/python.min.js";
import sql from "../vendor/highlightjs/languages/sql.min.js";
import { sanitizeHighlighted } from "./sanitize.js";

hljs.registerLanguage("python", python);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("json", json);
hljs.registerLanguage("sql", sql);
hljs.configure({ ignoreUnescapedHTML: true });

/** Fill `codeElement` with `source` highlighted as `language` (python by default). */
export function highlightInto(codeElement, source, language = "python") {
  const known = hljs.getLanguage(language) ? language : null;
  if (!known) {
    codeElement.textContent = source;
    return;
  }
  // highlight.js escapes the source; the sanitiser is a second fence that keeps only spans.
  const html = hljs.highlight(source, { language: known, ignoreIllegals: true }).value;
  codeElement.replaceChildren(sanitizeHighlighted(html));
  codeElement.classList.add("hljs", `language-${known}`);
}

/** The language a step's code is in: that of its cell magic (`%%sql`, `%%bash`, `%%R`: R has no
 * highlighter here and shows as plain text), else Python. */
export function cellLanguage(source) {
  const magic = /^%%(\w+)[ \t]*\n/.exec(source);
  return magic ? magic[1].toLowerCase() : "python";
}

/** Highlight every fenced code block inside rendered markdown. */
export function highlightBlocks(root) {
  for (const code of root.querySelectorAll("pre > code")) {
    const match = /language-([\w-]+)/.exec(code.className);
    highlightInto(code, code.textContent, match ? match[1].toLowerCase() : "python");
  }
}
