/** The router's own answers: short pages that say what is wrong, as HTML or as plain text. */

const REASONS: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  408: "Request Timeout",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A complete HTTP response: `message` is the one line that says what is wrong ("no app named
 * x"), `hint` what to do about it. Browsers (Accept: text/html) get a small HTML page, everything
 * else the same words as text.
 */
export function errorResponse(opts: {
  status: number;
  message: string;
  hint?: string;
  requestId: string;
  html: boolean;
  close: boolean;
  head?: boolean;
  /** More header lines, each ending in CRLF (e.g. an app's HSTS). */
  headers?: string;
}): string {
  const reason = REASONS[opts.status] ?? "Error";
  const body = opts.html ? htmlPage(opts.status, reason, opts) : textPage(opts.status, opts);
  return (
    `HTTP/1.1 ${opts.status} ${reason}\r\n` +
    `content-type: ${opts.html ? "text/html" : "text/plain"}; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `cache-control: no-store\r\n` +
    `x-request-id: ${opts.requestId}\r\n` +
    `x-gantry-router: ${opts.status}\r\n` +
    (opts.headers ?? "") +
    (opts.close ? "connection: close\r\n" : "") +
    "\r\n" +
    (opts.head ? "" : body)
  );
}

function textPage(
  status: number,
  o: { message: string; hint?: string; requestId: string },
): string {
  return (
    `${status} ${o.message}\n` +
    (o.hint ? `${o.hint}\n` : "") +
    `(gantry router, request ${o.requestId})\n`
  );
}

function htmlPage(
  status: number,
  reason: string,
  o: { message: string; hint?: string; requestId: string },
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${status} ${escapeHtml(o.message)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:4em auto;max-width:40em;padding:0 1em;color:#222}
h1{font-size:1.4em}small{color:#777}</style></head>
<body><h1>${status} ${escapeHtml(o.message)}</h1>
${o.hint ? `<p>${escapeHtml(o.hint)}</p>\n` : ""}<p><small>${reason} · gantry router · request ${escapeHtml(o.requestId)}</small></p>
</body></html>
`;
}

/** Whether an Accept header prefers HTML (a browser). */
export function wantsHtml(accept: string): boolean {
  return accept.includes("text/html");
}
