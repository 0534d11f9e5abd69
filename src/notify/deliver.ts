/**
 * One delivery attempt: POST the payload as JSON, signed with the hook's secret
 * (`X-Gantry-Signature-256: sha256=<hex>`, as GitHub signs its webhooks), within 10 s.
 * Any 2xx is delivered; anything else, or no answer, is a failure to retry.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { signBody } from "../gitops/signature.js";
import type { NotifyPayload } from "../model/notify.js";

export const DELIVERY_TIMEOUT_MS = 10_000;

export type DeliveryResult =
  | { ok: true; status: number }
  | { ok: false; status?: number; error: string };

/** One POST with node:http(s) (fetch refuses "bad ports" such as 6000 or 10080, a webhook may use one). */
function post(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      u,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        signal:
          stop === undefined
            ? AbortSignal.timeout(timeoutMs)
            : AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
      },
      (res) => {
        // The body is not used: read it to its end (the socket is then free).
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Why a request got no answer, without the URL (it may hold a token). */
function reason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError" || e.code === "ABORT_ERR")
    return `no answer within ${timeoutMs / 1000} s`;
  if (e.code !== undefined) return `could not connect (${e.code})`;
  return err instanceof Error ? err.message : String(err);
}

export async function deliver(
  url: string,
  secret: string,
  payload: NotifyPayload,
  timeoutMs = DELIVERY_TIMEOUT_MS,
  /** Aborts the attempt (the server is stopping): it fails, and is made again later. */
  stop?: AbortSignal,
): Promise<DeliveryResult> {
  const body = Buffer.from(JSON.stringify(payload), "utf8");
  try {
    const status = await post(
      url,
      body,
      {
        "content-type": "application/json",
        "user-agent": "Gantry-Notifications/1",
        "x-gantry-event": payload.event,
        "x-gantry-signature-256": `sha256=${signBody(body, secret)}`,
      },
      timeoutMs,
      stop,
    );
    if (status >= 200 && status < 300) return { ok: true, status };
    return { ok: false, status, error: `the receiver answered ${status}` };
  } catch (err) {
    return { ok: false, error: reason(err, timeoutMs) };
  }
}
