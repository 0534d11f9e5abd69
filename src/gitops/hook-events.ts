/**
 * What a git host's webhook says, from its headers and body (GitHub and Gitea send the same
 * shapes for what Gantry reads): the event name (`X-GitHub-Event` / `X-Gitea-Event`), the
 * delivery id (`X-GitHub-Delivery` / `X-Gitea-Delivery`), and for a push its ref and new commit,
 * for a pull request its action, number, head branch and head commit. Pure: no I/O.
 */
import * as z from "zod";
import { ValidationError } from "../errors.js";

type Headers = Record<string, string | string[] | undefined>;

export type HookEvent =
  | { kind: "ping" }
  | { kind: "push"; ref: string; after: string; deleted: boolean }
  | {
      kind: "pull_request";
      action: "opened" | "synchronize" | "reopened" | "closed" | "other";
      number: number;
      headBranch: string;
      headSha: string;
      baseBranch: string;
    }
  | { kind: "other"; name: string };

const one = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const DELIVERY = /^[A-Za-z0-9._:-]{1,128}$/;
const SHA = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/);

/** The delivery id, checked (it becomes part of a store key); undefined when none was sent. */
export function deliveryId(headers: Headers): string | undefined {
  const id = one(headers, "x-github-delivery") ?? one(headers, "x-gitea-delivery");
  if (id === undefined) return undefined;
  if (!DELIVERY.test(id))
    throw new ValidationError(
      `the delivery id "${id.slice(0, 40)}" is not valid`,
      "x-github-delivery",
    );
  return id;
}

/** The event name the host sent ("push" when it names none but the body has a ref). */
export function eventName(headers: Headers): string | undefined {
  return one(headers, "x-github-event") ?? one(headers, "x-gitea-event");
}

const PushSchema = z.object({
  ref: z.string().min(1).max(1024),
  after: SHA,
  deleted: z.boolean().optional(),
});

const PullSchema = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({ ref: z.string().min(1).max(256), sha: SHA }),
    base: z.object({ ref: z.string().min(1).max(256) }),
  }),
});

/** The JSON payload: the body itself, or its `payload` field when sent form-encoded (GitHub). */
function payload(body: Buffer, contentType: string | undefined): unknown {
  let raw = body.toString("utf8");
  if ((contentType ?? "").startsWith("application/x-www-form-urlencoded")) {
    raw = new URLSearchParams(raw).get("payload") ?? "";
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError(
      "the webhook body is not JSON (set the content type to application/json)",
      "body",
    );
  }
}

const PR_ACTIONS: Record<string, "opened" | "synchronize" | "reopened" | "closed"> = {
  opened: "opened",
  synchronize: "synchronize",
  // Gitea's name for a push to the pull request's branch.
  synchronized: "synchronize",
  reopened: "reopened",
  closed: "closed",
};

/** Read the event; a push or pull request whose body lacks what Gantry needs is an error. */
export function parseHookEvent(headers: Headers, body: Buffer): HookEvent {
  const name = eventName(headers);
  if (name === "ping") return { kind: "ping" };
  if (name !== undefined && name !== "push" && name !== "pull_request")
    return { kind: "other", name };
  const data = payload(body, one(headers, "content-type"));
  if (name === "pull_request") {
    const r = PullSchema.safeParse(data);
    if (!r.success)
      throw new ValidationError(`the pull_request event lacks ${issuePath(r.error)}`, "body");
    const pr = r.data.pull_request;
    return {
      kind: "pull_request",
      action: PR_ACTIONS[r.data.action] ?? "other",
      number: r.data.number,
      headBranch: pr.head.ref,
      headSha: pr.head.sha,
      baseBranch: pr.base.ref,
    };
  }
  const r = PushSchema.safeParse(data);
  if (!r.success) throw new ValidationError(`the push event lacks ${issuePath(r.error)}`, "body");
  const zero = /^0+$/.test(r.data.after);
  return {
    kind: "push",
    ref: r.data.ref,
    after: r.data.after,
    deleted: r.data.deleted === true || zero,
  };
}

function issuePath(err: z.ZodError): string {
  const i = err.issues[0];
  return i === undefined || i.path.length === 0 ? "a valid body" : `a valid ${i.path.join(".")}`;
}
