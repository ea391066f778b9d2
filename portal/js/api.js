// The Rebill API over fetch: bearer token, JSON in and out, errors as ApiError/ApiUnreachable.

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || body.Message)) || `The API answered HTTP ${status}.`;
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.code ?? null;
    this.field = body?.field ?? null;
  }

  get notFound() {
    return this.status === 404;
  }
}

/** The API could not be reached at all (down, offline, blocked): no HTTP answer. */
export class ApiUnreachable extends Error {
  constructor(url) {
    super(`The Rebill API at ${url} cannot be reached.`);
    this.name = "ApiUnreachable";
    this.url = url;
  }
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === null || value === undefined || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

function newKey() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export class Api {
  /**
   * @param {string} baseUrl the API's URL (config.json api_url)
   * @param {{token(): string|null, refresh(): Promise<boolean>, expired(): void}} auth
   */
  constructor(baseUrl, auth) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.auth = auth;
  }

  url(path, query) {
    return `${this.baseUrl}${path}${queryString(query)}`;
  }

  /**
   * One request. `idempotencyKey: true` sends a fresh Idempotency-Key so that a retried POST
   * (double click, flaky network) is answered once.
   */
  async request(method, path, { query, body, signal, idempotencyKey, token, accept, ifMatch, contentType, versioned } = {}) {
    const headers = { Accept: accept ?? "application/json" };
    const bearer = token ?? this.auth?.token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
    if (ifMatch) headers["If-Match"] = ifMatch;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey === true ? newKey() : idempotencyKey;
    const init = { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) };
    const url = this.url(path, query);
    let response = await this.#sendOnce(url, init, Boolean(idempotencyKey));
    if (response.status === 401 && !token && this.auth && (await this.auth.refresh())) {
      headers.Authorization = `Bearer ${this.auth.token()}`;
      response = await this.#fetch(url, init);
    }
    if (response.status === 401 && !token && this.auth) this.auth.expired();
    const read = this.#read(response, accept);
    // `versioned`: the body with its ETag, the version a PATCH with If-Match is based on.
    return versioned ? { body: await read, etag: response.headers.get("ETag") } : read;
  }

  /**
   * With an Idempotency-Key, a request whose answer was lost on the way (the API may have done
   * it) is sent once more with the same key: the API answers it once, replaying the first answer.
   */
  async #sendOnce(url, init, keyed) {
    try {
      return await this.#fetch(url, init);
    } catch (error) {
      if (!keyed || !(error instanceof ApiUnreachable)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 400));
      return this.#fetch(url, init);
    }
  }

  async #fetch(url, init) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new ApiUnreachable(this.baseUrl);
    }
  }

  async #read(response, accept) {
    if (response.status === 204) return null;
    const type = response.headers.get("Content-Type") || "";
    const text = await response.text();
    let body = text;
    if (type.includes("json") || (!accept && text.startsWith("{"))) {
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = { message: text };
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, typeof body === "object" ? body : { message: text || null });
    }
    return body;
  }

  get(path, query, options = {}) {
    return this.request("GET", path, { ...options, query });
  }

  /**
   * POST, with a fresh Idempotency-Key unless `idempotencyKey` says otherwise: buttons are
   * disabled while their request runs, and a request whose answer is lost is retried once with
   * the same key, so a void, an issue or a run is never done twice.
   */
  post(path, body, options = {}) {
    return this.request("POST", path, { idempotencyKey: true, ...options, body: body ?? {} });
  }

  put(path, body, options = {}) {
    return this.request("PUT", path, { ...options, body });
  }

  /** A document and its version: `{body, etag}`. */
  getVersioned(path, options = {}) {
    return this.request("GET", path, { ...options, versioned: true });
  }

  /**
   * A partial update (JSON Merge Patch: only what changed; null deletes a field). With
   * `ifMatch` (an ETag), a document changed meanwhile is not written (HTTP 412). Resolves to
   * `{body, etag}`.
   */
  patch(path, body, options = {}) {
    return this.request("PATCH", path, {
      idempotencyKey: true,
      contentType: "application/merge-patch+json",
      ...options,
      body,
      versioned: true,
    });
  }

  delete(path, options = {}) {
    return this.request("DELETE", path, options);
  }

  /** Every item of a paginated list, following next_cursor, up to `cap` items. */
  async all(path, query = {}, { cap = 1000, pageSize = 100, signal } = {}) {
    const items = [];
    let cursor = null;
    do {
      const page = await this.get(path, { ...query, limit: pageSize, cursor }, { signal });
      items.push(...(page?.items ?? []));
      cursor = page?.next_cursor ?? null;
    } while (cursor && items.length < cap);
    return { items: items.slice(0, cap), truncated: Boolean(cursor) || items.length > cap };
  }
}

/** A path segment, encoded. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
