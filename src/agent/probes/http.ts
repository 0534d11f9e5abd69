import type { HttpExpect } from "../../model/service.js";
import { clip, type ProbeResult } from "./types.js";

const BODY_BYTES = 512;

/**
 * GET `url`: 2xx passes, 429 (Too Many Requests) warns, anything else — or no answer within
 * `timeoutMs` — is critical. With `expect: "<500"` any answer below 500 passes (redirects are
 * answers, not followed). The start of the body goes into the output, as in Consul.
 */
export async function httpProbe(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  expect: HttpExpect = "2xx",
): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      signal: AbortSignal.any([signal, timeout]),
      headers: { "user-agent": "gantry-agent", accept: "text/plain, application/json, */*" },
      ...(expect === "<500" ? { redirect: "manual" as const } : {}),
    });
    const body = await bodyStart(res);
    const status =
      expect === "<500"
        ? res.status < 500
          ? "passing"
          : "critical"
        : res.status >= 200 && res.status < 300
          ? "passing"
          : res.status === 429
            ? "warning"
            : "critical";
    const line = `HTTP GET ${url}: ${res.status} ${res.statusText}`.trimEnd();
    return { status, output: clip(body === "" ? line : `${line} Output: ${body}`) };
  } catch (err) {
    if (timeout.aborted)
      return { status: "critical", output: `HTTP GET ${url}: timed out after ${timeoutMs}ms` };
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    const why = cause?.message ?? (err instanceof Error ? err.message : String(err));
    return { status: "critical", output: clip(`HTTP GET ${url}: ${why}`) };
  }
}

/** The first bytes of the body as text; the rest is not read (the connection is released). */
async function bodyStart(res: Response): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, BODY_BYTES).toString("utf8").trim();
}
