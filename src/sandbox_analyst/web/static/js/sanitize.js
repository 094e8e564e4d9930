// Every piece of HTML the page shows goes through DOMPurify here, with one policy per source:
// model markdown, DataFrame tables, highlighted code. Nothing from a model, a data file or a
// file name can run script: DOMPurify drops scripts and handlers, links keep only http(s),
// mailto and our own file URLs, images only our own file URLs, and the page's CSP refuses the
// rest.
import DOMPurify from "../vendor/dompurify/purify.es.js";

const FILE_PATH = /^\/api\/files\/([A-Za-z0-9_-]+)\/content$/;

/** The file id when `url` points at one of our stored files (`/api/files/<id>/content`). */
export function fileIdFromUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.origin);
    if (!/^https?:$/.test(parsed.protocol)) return null;
    const match = FILE_PATH.exec(parsed.pathname);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

// Inline styles are refused by the page's CSP anyway, and removed by DOMPurify; stripping them
// before parsing only spares the console a CSP report for each (the browser reports even
// while parsing into an inert document). Not a security measure: DOMPurify is.
const STYLE_BLOCK = /<style\b[\s\S]*?<\/style\s*>/gi;
const STYLE_ATTRIBUTE = /\sstyle\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi;

function withoutStyles(html) {
  return html.replace(STYLE_BLOCK, "").replace(STYLE_ATTRIBUTE, "");
}

const SAFE_LINK = /^(?:https?:|mailto:)/i;

const markdownPurifier = DOMPurify();
markdownPurifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = node.getAttribute("href") || "";
    const fileId = fileIdFromUrl(href);
    if (fileId) {
      node.setAttribute("data-file-id", fileId);
      node.removeAttribute("href"); // resolved to a signed link by file-links.js
    } else if (SAFE_LINK.test(href)) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    } else {
      node.removeAttribute("href");
    }
  }
  if (node.tagName === "IMG") {
    const fileId = fileIdFromUrl(node.getAttribute("src") || "");
    node.removeAttribute("src");
    if (fileId) node.setAttribute("data-file-id", fileId);
    else node.setAttribute("data-blocked", "external image not loaded");
  }
});

const MARKDOWN_POLICY = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "svg", "math"],
  FORBID_ATTR: ["style", "id", "srcset"],
};

/** A DocumentFragment of `html` (rendered from model markdown) that is safe to insert. */
export function sanitizeMarkdownHtml(html) {
  return markdownPurifier.sanitize(withoutStyles(html), MARKDOWN_POLICY);
}

const TABLE_POLICY = {
  RETURN_DOM_FRAGMENT: true,
  ALLOWED_TAGS: ["table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "div", "span", "br", "p", "b", "i", "em", "strong"],
  ALLOWED_ATTR: ["colspan", "rowspan", "class"],
};

/** A DocumentFragment of a DataFrame's HTML: table markup only. */
export function sanitizeTableHtml(html) {
  return DOMPurify.sanitize(withoutStyles(html), TABLE_POLICY);
}

const HIGHLIGHT_POLICY = { RETURN_DOM_FRAGMENT: true, ALLOWED_TAGS: ["span"], ALLOWED_ATTR: ["class"] };

export function sanitizeHighlighted(html) {
  return DOMPurify.sanitize(html, HIGHLIGHT_POLICY);
}
