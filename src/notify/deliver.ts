/**
 * One delivery attempt: POST the payload as JSON, signed with the hook's secret
 * (`X-Gantry-Signature-256: sha256=<hex>`, as GitHub signs its webhooks), within 10 s.
 * Any 2xx is delivered; anything else, or no answer, is a failure to retry.
 */
import { signBody } from "../gitops/signature.js";
import type { NotifyPayload } from "../model/notify.js";

export const DELIVERY_TIMEOUT_MS = 10_000;

export type DeliveryResult =
  | { ok: true; status: number }
  | { ok: false; status?: number; error: string };

/** Why a request got no answer, without the URL (it may hold a token). */
function reason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError")
    return `no answer within ${timeoutMs / 1000} s`;
  const code = e.cause?.code;
  if (code !== undefined) return `could not connect (${code})`;
  return e.cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export async function deliver(
  url: string,
  secret: string,
  payload: NotifyPayload,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<DeliveryResult> {
  const body = Buffer.from(JSON.stringify(payload), "utf8");
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": "Gantry-Notifications/1",
        "x-gantry-event": payload.event,
        "x-gantry-signature-256": `sha256=${signBody(body, secret)}`,
      },
    });
    // The body is not used; read it so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `the receiver answered ${res.status}` };
  } catch (err) {
    return { ok: false, error: reason(err, timeoutMs) };
  }
}
