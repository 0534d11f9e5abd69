/**
 * Image references as `gantry deploy --image` takes them (issue 12):
 * `[host[:port]/]path[:tag][@sha256:<64 hex>]`, parsed the way the Docker engine reads them (the
 * first component is a registry host when it has a `.` or a `:`, or is `localhost`).
 */
import { ValidationError } from "../errors.js";

export interface ImageRef {
  /** The registry host (with port), when the reference names one. */
  host?: string;
  /** The repository path within the registry, e.g. `hello` or `team/api`. */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/;

const bad = (ref: string, why: string): ValidationError =>
  new ValidationError(`image "${ref}" ${why}`, "image");

/** Parse a reference; errors say what is wrong with it (field `image`). */
export function parseImageRef(ref: string): ImageRef {
  if (ref === "" || ref.length > 512) throw bad(ref, "must be 1 to 512 characters");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(ref, "has a digest that is not sha256:<64 hex digits>");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(ref, `has a tag "${tag}" that is not valid`);
  }
  const parts = rest.split("/");
  let host: string | undefined;
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) {
    host = parts.shift()!;
    if (!HOST.test(host)) throw bad(ref, `has a registry host "${host}" that is not valid`);
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p)))
    throw bad(ref, "is not a valid name (lower-case letters, digits, . _ - and / between parts)");
  return {
    ...(host === undefined ? {} : { host }),
    path: parts.join("/"),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The repository part, as the engine names it: `host/path` or `path`. */
export const repositoryOf = (r: ImageRef): string =>
  r.host === undefined ? r.path : `${r.host}/${r.path}`;

/** The reference as text (`latest` is not added). */
export function formatImageRef(r: ImageRef): string {
  return `${repositoryOf(r)}${r.tag === undefined ? "" : `:${r.tag}`}${r.digest === undefined ? "" : `@${r.digest}`}`;
}
