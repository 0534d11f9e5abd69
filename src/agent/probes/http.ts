import { request as httpRequest, STATUS_CODES, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { HttpExpect } from "../../model/service.js";
import { clip, type ProbeResult } from "./types.js";

const BODY_BYTES = 512;
/** Redirects followed before the last answer counts as it is (Go's http client, so Consul's). */
const MAX_REDIRECTS = 10;

/**
 * GET `url`: 2xx passes, 429 (Too Many Requests) warns, anything else — or no answer within
 * `timeoutMs` — is critical. Redirects are followed (up to 10). With `expect: "<500"` any answer
 * below 500 passes (redirects are answers, not followed). The start of the body goes into the
 * output, as in Consul.
 *
 * node:http with a connection per check rather than fetch: the agent runs a check per instance
 * every second in the same event loop as the router (under `gantry up`), and fetch's streams
 * cost several times the CPU per check.
 */
export async function httpProbe(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  expect: HttpExpect = "2xx",
): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const abort = AbortSignal.any([signal, timeout]);
  try {
    let target = new URL(url);
    for (let hop = 0; ; hop++) {
      const res = await get(target, abort);
      const code = res.statusCode ?? 0;
      const location = res.headers.location;
      if (
        expect === "2xx" &&
        code >= 300 &&
        code < 400 &&
        location !== undefined &&
        hop < MAX_REDIRECTS
      ) {
        res.destroy();
        target = new URL(location, target);
        continue;
      }
      const body = await bodyStart(res);
      const status =
        expect === "<500"
          ? code < 500
            ? "passing"
            : "critical"
          : code >= 200 && code < 300
            ? "passing"
            : code === 429
              ? "warning"
              : "critical";
      const line =
        `HTTP GET ${url}: ${code} ${res.statusMessage ?? STATUS_CODES[code] ?? ""}`.trimEnd();
      return { status, output: clip(body === "" ? line : `${line} Output: ${body}`) };
    }
  } catch (err) {
    if (timeout.aborted)
      return { status: "critical", output: `HTTP GET ${url}: timed out after ${timeoutMs}ms` };
    return { status: "critical", output: clip(`HTTP GET ${url}: ${(err as Error).message}`) };
  }
}

/** One GET on a connection of its own; resolves with the answer's head. */
function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return Promise.reject(new Error(`cannot check a ${url.protocol} URL`));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      {
        agent: false,
        signal,
        headers: {
          "user-agent": "gantry-agent",
          accept: "text/plain, application/json, */*",
          connection: "close",
        },
      },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
}

/** The first bytes of the body as text; the rest is not read (the connection is closed). */
async function bodyStart(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= BODY_BYTES) break;
    }
  } finally {
    res.destroy();
  }
  return Buffer.concat(chunks).subarray(0, BODY_BYTES).toString("utf8").trim();
}
