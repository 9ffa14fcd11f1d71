// Host API of the sandbox, evaluated once per fresh context before the script. It takes the raw
// host functions out of the global scope and exposes fetch/log/console over them.
(() => {
  "use strict";
  const hostFetch = globalThis.__host_fetch;
  const hostLog = globalThis.__host_log;
  delete globalThis.__host_fetch;
  delete globalThis.__host_log;

  const show = (value) => {
    if (typeof value === "string") return value;
    try {
      const text = JSON.stringify(value);
      return text === undefined ? String(value) : text;
    } catch (_) {
      return String(value);
    }
  };
  const logger = (level) => (...args) => {
    hostLog(level, args.map(show).join(" "));
  };

  const headerObject = (headers) => {
    const out = {};
    if (headers === undefined || headers === null) return out;
    const entries = Array.isArray(headers) ? headers : Object.entries(headers);
    for (const [name, value] of entries) out[String(name).toLowerCase()] = String(value);
    return out;
  };

  const fetch = async function fetch(resource, init) {
    const options = init || {};
    const url = String(
      resource !== null && typeof resource === "object" && "url" in resource ? resource.url : resource,
    );
    const method = String(options.method || "GET").toUpperCase();
    const headers = headerObject(options.headers);
    let body = options.body;
    if (body !== undefined && body !== null && typeof body !== "string") {
      body = JSON.stringify(body);
      if (!("content-type" in headers)) headers["content-type"] = "application/json";
    }
    const reply = JSON.parse(
      hostFetch(method, url, JSON.stringify(headers), body === null ? undefined : body),
    );
    if (!reply.ok) {
      const error = reply.kind === "InvalidUrl" ? new TypeError(reply.message) : new Error(reply.message);
      error.name = reply.kind === "InvalidUrl" ? "TypeError" : reply.kind;
      error.url = url;
      throw error;
    }
    const text = reply.body;
    return Object.freeze({
      status: reply.status,
      ok: reply.status >= 200 && reply.status < 300,
      redirected: reply.redirected,
      url: reply.url,
      headers: Object.freeze(reply.headers),
      text: async () => text,
      json: async () => JSON.parse(text),
    });
  };

  globalThis.fetch = fetch;
  globalThis.log = logger("info");
  globalThis.console = Object.freeze({
    log: logger("info"),
    info: logger("info"),
    debug: logger("debug"),
    warn: logger("warn"),
    error: logger("error"),
  });
})();
