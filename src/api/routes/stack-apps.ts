import { isGantryError, ValidationError } from "../../errors.js";
import { AppNameSchema, BuildSchema, type Build } from "../../model/app.js";
import { K } from "../../model/keys.js";
import { auditConfigRead, requireConfigRead } from "../config-reads.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { apiBase, appsOf } from "./apps-common.js";

/** Builds of each app in the answer, newest first: what `GET /v1/apps/:app/builds` gives by default. */
const BUILDS = 50;
/** Apps per request: a stack's apps fit, a query string stays short. */
const MAX_APPS = 256;

/**
 * `GET /v1/stack/apps?names=a,b`: what a plan reads of its apps, in one request instead of four
 * per app (docs/stack.md, "API"). The same checks as those four: read on each app, and write
 * for its config (decrypted: it holds secrets).
 */
export function stackAppRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/stack/apps",
      summary:
        "Each named app that exists (?names=a,b): {app, config, builds (newest 50), releases} as the single-app routes give them",
      handler: async (ctx) => {
        ctx.allowQuery("names");
        const raw = ctx.query.get("names") ?? "";
        const names = raw === "" ? [] : [...new Set(raw.split(","))];
        if (names.length > MAX_APPS)
          throw new ValidationError(`at most ${MAX_APPS} apps per request`, "names");
        for (const name of names) {
          const ok = AppNameSchema.safeParse(name);
          if (!ok.success)
            throw new ValidationError(`names: "${name}" ${ok.error.issues[0]!.message}`, "names");
          requireConfigRead(ctx.who, name);
        }
        const apps = appsOf(deps);
        const base = apiBase(ctx, deps);
        const read = await Promise.all(
          names.map(async (name) => {
            try {
              const [app, config, builds, releases] = await Promise.all([
                apps.info(name, base),
                apps.config(name),
                newestBuilds(deps, name),
                apps.releases(name),
              ]);
              return { app, config, builds, releases: releases.map((r) => r.value) };
            } catch (err) {
              // Gone (or never made): left out, as a 404 of the single-app routes would say.
              if (isGantryError(err) && err.status === 404) return undefined;
              throw err;
            }
          }),
        );
        const found = read.filter((a) => a !== undefined);
        await auditConfigRead(
          deps,
          ctx,
          found.map((a) => a.app.name),
        );
        ctx.send(200, found);
      },
    },
  ];
}

async function newestBuilds(deps: ApiDeps, app: string): Promise<Build[]> {
  const res = await deps.store.range({ prefix: `${K.builds}${app}/` });
  const out: Build[] = [];
  for (let i = res.kvs.length - 1; i >= 0 && out.length < BUILDS; i--) {
    const b = parseBuild(res.kvs[i]!.value);
    if (b !== undefined) out.push(b);
  }
  return out;
}

function parseBuild(value: Uint8Array): Build | undefined {
  try {
    const r = BuildSchema.safeParse(JSON.parse(Buffer.from(value).toString("utf8")));
    return r.success ? r.data : undefined;
  } catch {
    return undefined; // an unreadable record is skipped, as GET /v1/apps/:app/builds does
  }
}
