// Stored files (charts, artifacts) are shown through signed links (POST /api/files/{id}/link):
// an <img> or a download link cannot send the Authorization header, and a signed link works
// for exactly one file until it expires. Links are cached per file id.
import { api } from "./api.js";

const links = new Map(); // file id -> Promise<string> (a same-origin path with its signature)
const REFRESH_BEFORE_MS = 5 * 60 * 1000;

export function signedUrl(fileId) {
  const cached = links.get(fileId);
  if (cached && cached.expires - Date.now() > REFRESH_BEFORE_MS) return cached.url;
  const url = api.fileLink(fileId).then((link) => {
    const parsed = new URL(link.url, location.origin);
    // Served by this origin whatever `server.public_url` says, which keeps the CSP simple.
    return parsed.pathname + parsed.search;
  });
  links.set(fileId, { url, expires: Date.now() + 23 * 3600 * 1000 });
  url.catch(() => links.delete(fileId));
  return url;
}

/** Point `img` at file `fileId` once its link is known. */
export function loadImage(img, fileId) {
  img.dataset.fileId = fileId;
  signedUrl(fileId).then(
    (url) => {
      img.src = url;
    },
    () => {
      img.alt = `${img.alt || "chart"} (could not be loaded)`;
      img.classList.add("broken");
    },
  );
}

/** Give `anchor` the signed link of `fileId` (as a download named `name`). */
export function linkFile(anchor, fileId, name) {
  anchor.dataset.fileId = fileId;
  if (name) anchor.setAttribute("download", name);
  signedUrl(fileId).then(
    (url) => {
      anchor.href = url;
    },
    () => anchor.classList.add("broken"),
  );
}
