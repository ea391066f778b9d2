// Hash routing: "#/invoices?period=2026-10&status=issued" — a view and its filters live in the
// URL, so any screen can be bookmarked or shared, and the static host needs no rewrite rules.

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(search) };
}

/** "#/invoices?period=2026-10" from a path and a query (object or URLSearchParams). */
export function href(path, query) {
  const params = new URLSearchParams();
  const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query ?? {});
  for (const [key, value] of entries) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ""}`;
}

export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (target === location.hash) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else if (replace) {
    history.replaceState(null, "", target);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = target;
  }
}

/**
 * Routes: [{path: "/invoices/:id", ...anything}]. `match(path)` → {route, params} or null.
 */
export class Router {
  constructor(routes) {
    this.routes = routes.map((route) => ({ ...route, regex: compile(route.path) }));
  }

  match(path) {
    for (const route of this.routes) {
      const found = route.regex.exec(path);
      if (found) {
        const params = Object.fromEntries(
          Object.entries(found.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
        );
        return { route, params };
      }
    }
    return null;
  }
}

function compile(pattern) {
  const source = pattern
    .split("/")
    .map((part) => (part.startsWith(":") ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}
