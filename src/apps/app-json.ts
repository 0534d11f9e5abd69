/**
 * `app.json` in a slug (Heroku's app manifest): the `env` names it marks `required: true` must be
 * in a stage's config before a promotion to it (src/apps/promote.ts).
 */
import { existsSync } from "node:fs";
import * as tar from "tar";
import * as z from "zod";
import { ConfigNameSchema } from "../model/app.js";

const MAX_BYTES = 256 * 1024;

const AppJsonSchema = z.looseObject({
  env: z
    .record(z.string(), z.union([z.string(), z.looseObject({ required: z.boolean().optional() })]))
    .optional(),
});

/** Pure: the env names an app.json marks required (invalid JSON or names: none). */
export function requiredEnv(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const r = AppJsonSchema.safeParse(parsed);
  if (!r.success) return [];
  return Object.entries(r.data.env ?? {})
    .filter(
      ([k, v]) =>
        typeof v === "object" && v.required === true && ConfigNameSchema.safeParse(k).success,
    )
    .map(([k]) => k);
}

/** The app.json at the top of a slug (.tar.gz), if any (at most 256 KiB). */
export async function readAppJson(artifactPath: string): Promise<string | undefined> {
  if (!existsSync(artifactPath)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  await tar.t({
    file: artifactPath,
    filter: (path) => path === "app.json" || path === "./app.json",
    onReadEntry: (entry) => {
      entry.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BYTES) chunks.push(c);
      });
    },
  });
  return chunks.length === 0 || size > MAX_BYTES
    ? undefined
    : Buffer.concat(chunks).toString("utf8");
}
