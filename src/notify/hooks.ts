/**
 * Adding, listing, removing and trying out hooks (the API's side; the leader delivers). A hook's
 * secret is made here, sealed before it is stored, and answered once, when the hook is added.
 */
import { randomBytes } from "node:crypto";
import type { AuditLog } from "../audit/log.js";
import type { SecretBox } from "../apps/secrets.js";
import { conflict, notFound } from "../errors.js";
import {
  hookKey,
  hookSecretContext,
  NOTIFY_EVENTS,
  type HookTestResult,
  type HookView,
  type NotifyEvent,
  type NotifyHook,
  type NotifyPayload,
} from "../model/notify.js";
import type { Principal } from "../model/principal.js";
import type { KeyValue, Store, TxnOp } from "../store/index.js";
import { deliver } from "./deliver.js";
import { redactUrl } from "./redact.js";
import { hooksOf } from "./route.js";
import { parseHook } from "./sender.js";
import { eventText } from "./text.js";

/** Hooks per app or pipeline. */
export const MAX_HOOKS = 20;

export const hookView = (h: NotifyHook): HookView => {
  const { secret: _s, url, ...rest } = h;
  return { ...rest, url: redactUrl(url) };
};

export interface HookDeps {
  store: Store;
  audit: AuditLog;
  box: SecretBox;
}

const who = (p: Principal) => ({ name: p.name, tokenId: p.tokenId });

export async function listHooks(deps: HookDeps, target: string): Promise<HookView[]> {
  return (await hooksOf(deps.store, target)).map((h) => hookView(h.hook));
}

export async function addHook(
  deps: HookDeps,
  target: string,
  input: { url: string; events?: NotifyEvent[] | undefined },
  by: Principal,
): Promise<HookView & { secret: string }> {
  const existing = await hooksOf(deps.store, target);
  if (existing.length >= MAX_HOOKS)
    throw conflict(`${target} has ${MAX_HOOKS} notifications already: remove one first`);
  const id = randomBytes(4).toString("hex");
  const secret = randomBytes(32).toString("hex");
  const hook: NotifyHook = {
    id,
    target,
    url: input.url,
    events: input.events === undefined ? [...NOTIFY_EVENTS] : [...new Set(input.events)],
    secret: deps.box.encrypt(secret, hookSecretContext(target, id)),
    createdAt: new Date().toISOString(),
    createdBy: by.name,
  };
  const key = hookKey(target, id);
  const res = await deps.store.txn({
    compare: [{ key, target: "version", op: "==", value: 0 }],
    success: [
      { type: "put", key, value: JSON.stringify(hook) },
      deps.audit.entry(who(by), "notification.add", `${target}/${id}`),
    ],
  });
  if (!res.succeeded) throw conflict(`notification ${id} exists already: try again`);
  return { ...hookView(hook), secret };
}

async function getHook(
  store: Store,
  target: string,
  id: string,
): Promise<{ kv: KeyValue; hook: NotifyHook }> {
  const kv = await store.get(hookKey(target, id));
  const hook = kv === undefined ? undefined : parseHook(kv);
  if (kv === undefined || hook === undefined)
    throw notFound(`notification ${id} of ${target.replace(":", " ")}`);
  return { kv, hook };
}

/** Remove a hook; what waits in the outbox for it is dropped by the sender. */
export async function removeHook(
  deps: HookDeps,
  target: string,
  id: string,
  by: Principal,
): Promise<void> {
  const { kv } = await getHook(deps.store, target, id);
  await deps.store.txn({
    compare: [{ key: kv.key, target: "modRevision", op: "==", value: kv.modRevision }],
    success: [
      { type: "delete", range: kv.key },
      deps.audit.entry(who(by), "notification.remove", `${target}/${id}`),
    ],
  });
}

export type TestResult = HookTestResult;

/** Send a `test` event to one hook now (one attempt) and record the outcome on it. */
export async function testHook(
  deps: HookDeps,
  target: string,
  id: string,
  app: string,
  pipeline: string | undefined,
  by: Principal,
): Promise<TestResult> {
  const { kv, hook } = await getHook(deps.store, target, id);
  const base = {
    event: "test" as const,
    app,
    ...(pipeline === undefined ? {} : { pipeline }),
    at: new Date().toISOString(),
  };
  const payload: NotifyPayload = { ...base, text: eventText(base) };
  const secret = deps.box.decrypt(hook.secret, hookSecretContext(target, id));
  const r = await deliver(hook.url, secret, payload);
  const note = {
    at: new Date().toISOString(),
    event: "test" as const,
    attempts: 1,
    ...(r.status === undefined ? {} : { status: r.status }),
  };
  await noteOnHook(
    deps.store,
    kv,
    deps.audit.entry(who(by), "notification.test", `${target}/${id}`),
    (h) =>
      r.ok
        ? { ...h, lastDelivery: note }
        : { ...h, lastError: { ...note, error: r.error.slice(0, 500) } },
  );
  return r.ok
    ? { delivered: true, status: r.status }
    : { delivered: false, ...(r.status === undefined ? {} : { status: r.status }), error: r.error };
}

/** Update a hook read as `kv` (read again when it changed meanwhile), with `extra` in the same write. */
async function noteOnHook(
  store: Store,
  kv: KeyValue,
  extra: TxnOp,
  update: (h: NotifyHook) => NotifyHook,
): Promise<void> {
  let cur: KeyValue | undefined = kv;
  for (let i = 0; i < 5 && cur !== undefined; i++) {
    const hook = parseHook(cur);
    if (hook === undefined) return;
    const res = await store.txn({
      compare: [{ key: cur.key, target: "modRevision", op: "==", value: cur.modRevision }],
      success: [{ type: "put", key: cur.key, value: JSON.stringify(update(hook)) }, extra],
    });
    if (res.succeeded) return;
    cur = await store.get(kv.key);
  }
}
