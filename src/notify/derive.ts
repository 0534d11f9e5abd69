/**
 * Which notification events a change of one record makes (pure): the notifier hands it each
 * watched key with its value before and after the change.
 *
 *   deploys/<app>            running for a release it was not running before → deploy.started;
 *                            succeeded / failed (not so before)              → deploy.succeeded / failed
 *   builds/<app>/<id>        test.status became failed or timeout            → test.failed
 *   releases/<app>/<ver>     a new release with promotedFrom                 → promotion
 */
import {
  BuildSchema,
  DeploySchema,
  ReleaseSchema,
  type Build,
  type Deploy,
  type Release,
} from "../model/app.js";
import { K } from "../model/keys.js";
import type { NotifyPayload } from "../model/notify.js";
import { eventText } from "./text.js";

/** An event before it is routed to hooks (the pipeline is added then). */
export type DerivedEvent = Omit<NotifyPayload, "pipeline" | "text">;

export interface DeriveContext {
  /** The app's URL (`http://hello.localhost:8080/`), when known. */
  appUrl?: (app: string) => string | undefined;
  /** When the change was seen (for records that carry no time of their own). */
  now: string;
}

const parse = <T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  raw: string | undefined,
): T | undefined => {
  if (raw === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
};

/** Whether a key is one the notifier derives events from. */
export const isWatchedKey = (key: string): boolean =>
  key.startsWith(K.deploys) || key.startsWith(K.builds) || key.startsWith(K.releases);

/** The events one change makes: `prev`/`cur` are the raw values (undefined: absent / deleted). */
export function deriveEvents(
  key: string,
  prev: string | undefined,
  cur: string | undefined,
  ctx: DeriveContext,
): DerivedEvent[] {
  if (cur === undefined) return [];
  if (key.startsWith(K.deploys))
    return deployEvents(parse(DeploySchema, prev), parse(DeploySchema, cur), ctx);
  if (key.startsWith(K.builds))
    return buildEvents(parse(BuildSchema, prev), parse(BuildSchema, cur), ctx);
  if (key.startsWith(K.releases))
    return releaseEvents(parse(ReleaseSchema, prev), parse(ReleaseSchema, cur), ctx);
  return [];
}

/** The same deploy (release and start) in the same status: nothing new to tell. */
const sameState = (a: Deploy | undefined, b: Deploy): boolean =>
  a !== undefined &&
  a.release === b.release &&
  a.startedAt === b.startedAt &&
  a.status === b.status;

export function deployEvents(
  prev: Deploy | undefined,
  cur: Deploy | undefined,
  ctx: DeriveContext,
): DerivedEvent[] {
  if (cur === undefined || sameState(prev, cur)) return [];
  const url = ctx.appUrl?.(cur.app);
  const base = { app: cur.app, release: cur.release, status: cur.status };
  switch (cur.status) {
    case "running":
      return [{ event: "deploy.started", ...base, at: cur.startedAt }];
    case "succeeded":
      return [
        {
          event: "deploy.succeeded",
          ...base,
          ...(url === undefined ? {} : { url }),
          at: cur.finishedAt ?? ctx.now,
        },
      ];
    case "failed":
      return [
        {
          event: "deploy.failed",
          ...base,
          error: cur.error ?? "the deploy failed",
          at: cur.finishedAt ?? ctx.now,
        },
      ];
  }
}

const FAILED_TEST = new Set(["failed", "timeout"]);

export function buildEvents(
  prev: Build | undefined,
  cur: Build | undefined,
  ctx: DeriveContext,
): DerivedEvent[] {
  const t = cur?.test;
  if (cur === undefined || t === undefined || !FAILED_TEST.has(t.status)) return [];
  if (prev?.test !== undefined && FAILED_TEST.has(prev.test.status)) return [];
  const error =
    t.error ??
    (t.status === "timeout"
      ? "the tests timed out"
      : `the tests exited with code ${t.exitCode ?? "unknown"}`);
  return [
    {
      event: "test.failed",
      app: cur.app,
      status: t.status,
      error,
      build: cur.id,
      commit: cur.commit,
      at: t.finishedAt ?? ctx.now,
    },
  ];
}

export function releaseEvents(
  prev: Release | undefined,
  cur: Release | undefined,
  ctx: DeriveContext,
): DerivedEvent[] {
  if (cur?.promotedFrom === undefined || prev?.promotedFrom !== undefined) return [];
  return [
    {
      event: "promotion",
      app: cur.app,
      release: cur.version,
      promotedFrom: cur.promotedFrom,
      at: cur.createdAt || ctx.now,
    },
  ];
}

/** The payload a hook receives: the event, its pipeline (when the app is in one) and its text. */
export function toPayload(e: DerivedEvent, pipeline: string | undefined): NotifyPayload {
  const p = { ...e, ...(pipeline === undefined ? {} : { pipeline }) };
  return { ...p, text: eventText(p) };
}
