// Every call the console makes: the user's own token in the Authorization header (never in a
// URL), kept in sessionStorage so it dies with the tab and no cookie carries it.
const KEY = "icefloe.token";

export const session = {
  get: () => sessionStorage.getItem(KEY),
  set: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/** The REST spec's namespace path segment: levels joined by 0x1F, then %-encoded. */
export const ns = (levels) => encodeURIComponent(levels.join("\x1f"));
export const seg = (name) => encodeURIComponent(name);

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  let type = "";
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      type = body.error.type || "";
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, message, type);
}

export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token ?? session.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** PUT a file straight to the object store with the headers the upload slot named. */
export async function putToStore(slot, file) {
  const response = await fetch(slot.url, {
    method: slot.method || "PUT",
    headers: slot.headers || {},
    body: file,
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  if (!response.ok) throw new ApiError(response.status, `The store refused the file (${response.status})`, "");
}

export const tablePath = (wh, levels, table) =>
  `/v1/${seg(wh)}/namespaces/${ns(levels)}/tables/${seg(table)}`;
export const viewPath = (wh, levels, view) =>
  `/v1/${seg(wh)}/namespaces/${ns(levels)}/views/${seg(view)}`;
export const adminTablePath = (wh, levels, table) =>
  `/admin/v1/warehouses/${seg(wh)}/namespaces/${ns(levels)}/tables/${seg(table)}`;

/** What the signed-in principal may do, from /admin/v1/whoami's grants. */
export function abilities(who) {
  const grants = (who && who.grants) || [];
  const admin = grants.some((g) => g.permission === "admin");
  const write = admin || grants.some((g) => g.permission === "read-write");
  return { admin, write };
}
