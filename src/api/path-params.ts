import type { ZodType } from "zod";
import { ValidationError } from "../errors.js";
import { parseWith } from "../validate.js";
import type { Ctx } from "./context.js";

/** A path parameter, percent-decoded and checked against a schema (400 naming it otherwise). */
export function pathParam(ctx: Ctx, name: string, schema: ZodType<string>): string {
  let raw: string;
  try {
    raw = decodeURIComponent(ctx.params[name] ?? "");
  } catch {
    throw new ValidationError(`${name} in the path is not valid percent-encoding`, name);
  }
  return parseWith(schema, raw, name);
}

/** An AbortSignal for long requests: aborted when the server closes or the client goes away. */
export function requestSignal(ctx: Ctx, closing: AbortSignal): AbortSignal {
  const gone = new AbortController();
  ctx.res.once("close", () => gone.abort());
  return AbortSignal.any([closing, gone.signal]);
}
