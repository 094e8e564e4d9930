// The REST API: JSON calls with the API key, uploads with progress, and errors as ApiError
// (our `{"error": {code, message, field}}` shape, or FastAPI's `{"detail": [...]}`).

const KEY_STORAGE = "analyst.apiKey";

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export const auth = {
  get key() {
    return localStorage.getItem(KEY_STORAGE) || "";
  },
  set key(value) {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  },
  headers() {
    const key = this.key;
    return key ? { Authorization: `Bearer ${key}` } : {};
  },
  /** Called with the ApiError whenever the server answers 401. */
  onUnauthorized: () => {},
};

/** An ApiError from a response body (already parsed, or text). */
export function errorFrom(status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error === "object") {
    return new ApiError(status, error.code || "error", error.message || `HTTP ${status}`, error.field || null);
  }
  const detail = body && typeof body === "object" ? body.detail : null;
  if (Array.isArray(detail) && detail.length) {
    const first = detail[0];
    const location = (first.loc || []).filter((part) => !["body", "query", "path"].includes(part));
    const field = location.join(".") || null;
    return new ApiError(status, "validation_error", `${field ? `${field}: ` : ""}${first.msg}`, field);
  }
  if (typeof detail === "string") return new ApiError(status, "error", detail);
  const text = typeof body === "string" && body.trim() ? body.trim().slice(0, 300) : "";
  return new ApiError(status, "http_error", text || `the server answered HTTP ${status}`);
}

async function parseBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** fetch with the key; throws ApiError on a non-2xx answer, else returns the parsed body. */
export async function request(method, path, { json, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...auth.headers(), ...headers }, signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server cannot be reached. Is `analyst serve` running?");
  }
  const body = await parseBody(response);
  if (!response.ok) {
    const error = errorFrom(response.status, body);
    if (response.status === 401) auth.onUnauthorized(error);
    throw error;
  }
  return body;
}

export const api = {
  settings: () => request("GET", "/api/ui/settings"),
  me: () => request("GET", "/api/me"),

  assistants: () => request("GET", "/api/assistants?limit=500"),
  assistant: (id) => request("GET", `/api/assistants/${encodeURIComponent(id)}`),
  createAssistant: (fields) => request("POST", "/api/assistants", { json: fields }),
  updateAssistant: (id, fields) => request("PATCH", `/api/assistants/${encodeURIComponent(id)}`, { json: fields }),
  deleteAssistant: (id) => request("DELETE", `/api/assistants/${encodeURIComponent(id)}`),
  templates: () => request("GET", "/api/templates"),
  connections: () => request("GET", "/api/connections"),
  mcpTools: () => request("GET", "/api/mcp-tools"),

  conversations: () => request("GET", "/api/conversations?limit=500"),
  conversation: (id) => request("GET", `/api/conversations/${encodeURIComponent(id)}`),
  createConversation: (assistantId, title) =>
    request("POST", "/api/conversations", { json: { assistant_id: assistantId, title } }),
  renameConversation: (id, title) =>
    request("PATCH", `/api/conversations/${encodeURIComponent(id)}`, { json: { title } }),
  deleteConversation: (id) => request("DELETE", `/api/conversations/${encodeURIComponent(id)}`),
  cancelTurn: (id) => request("POST", `/api/conversations/${encodeURIComponent(id)}/cancel`),
  forkConversation: (id, title) =>
    request("POST", `/api/conversations/${encodeURIComponent(id)}/fork`, { json: title ? { title } : {} }),

  files: (conversationId) =>
    request("GET", `/api/files?limit=500&conversation_id=${encodeURIComponent(conversationId)}`),
  filePreview: (id) => request("GET", `/api/files/${encodeURIComponent(id)}/preview?rows=10`),
  fileLink: (id) => request("POST", `/api/files/${encodeURIComponent(id)}/link`),
  exportConversation: (id, format) => download(`/api/conversations/${encodeURIComponent(id)}/export.${format}`),
};

/** GET a file with the key: {blob, filename} (the name from Content-Disposition). */
export async function download(path) {
  let response;
  try {
    response = await fetch(path, { headers: auth.headers() });
  } catch {
    throw new ApiError(0, "network_error", "The server cannot be reached. Is `analyst serve` running?");
  }
  if (!response.ok) {
    const error = errorFrom(response.status, await parseBody(response));
    if (response.status === 401) auth.onUnauthorized(error);
    throw error;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="([^"]+)"/i.exec(disposition);
  const filename = encoded ? decodeURIComponent(encoded[1]) : plain ? plain[1] : "download";
  return { blob: await response.blob(), filename };
}

/** POST a chat message asking for server-sent events; resolves to the streaming Response. */
export async function postMessage(conversationId, content, signal) {
  let response;
  try {
    response = await fetch(`/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...auth.headers() },
      body: JSON.stringify({ content }),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server cannot be reached. Is `analyst serve` running?");
  }
  if (!response.ok) {
    const error = errorFrom(response.status, await parseBody(response));
    if (response.status === 401) auth.onUnauthorized(error);
    throw error;
  }
  return response;
}

/**
 * Upload one file with XMLHttpRequest (fetch has no upload progress).
 * Returns {promise, abort}; `onProgress(fraction)` is called as bytes go out.
 */
export function uploadFile(file, conversationId, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", `/api/files?conversation_id=${encodeURIComponent(conversationId)}`);
    for (const [name, value] of Object.entries(auth.headers())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body = xhr.responseText;
      try {
        body = JSON.parse(body);
      } catch {
        // Not JSON (a proxy's error page): errorFrom shows the text.
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const error = errorFrom(xhr.status, body);
        if (xhr.status === 401) auth.onUnauthorized(error);
        reject(error);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network_error", "the upload was interrupted"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "the upload was cancelled"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
