/** The dashboard's one way to call the API: same origin, the session cookie, CSRF on changes. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** The whole error body (some refusals carry more, like a KV conflict's current value). */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }
}

let csrf = "";
/** Set once the session is known (session.ts); sent as `x-gantry-csrf` on every change. */
export function setCsrf(value: string): void {
  csrf = value;
}

/** Called when the API answers 401: the session ended (session.ts sends the user to /login). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export interface CallOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  /** A JSON body (objects are serialized; strings are sent as they are, as text). */
  body?: unknown;
  signal?: AbortSignal;
}

/** The raw response of a call that succeeded (2xx); errors are thrown as ApiError. */
export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-gantry-csrf"] = csrf;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === "string") {
      body = opts.body;
      headers["content-type"] = "text/plain; charset=utf-8";
    } else {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body === undefined ? {} : { body }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(
      0,
      "offline",
      "the Gantry server cannot be reached; retrying when it is back",
    );
  }
  if (res.ok) return res;
  let parsed: Record<string, unknown> = {};
  try {
    parsed = (await res.json()) as Record<string, unknown>;
  } catch {
    // not JSON: keep the status line
  }
  const inner = (parsed["error"] ?? parsed) as Record<string, unknown>;
  const code = typeof inner["code"] === "string" ? inner["code"] : `http_${res.status}`;
  const message = typeof inner["message"] === "string" ? inner["message"] : res.statusText;
  const field = typeof inner["field"] === "string" ? inner["field"] : undefined;
  if (res.status === 401) onUnauthorized();
  throw new ApiError(res.status, code, message, field, inner);
}

/** Call and parse the JSON answer. */
export async function api<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const res = await call(path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** `encodeURIComponent` for one path segment. */
export const seg = (s: string): string => encodeURIComponent(s);
