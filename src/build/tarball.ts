import { lstatSync, readdirSync } from "node:fs";
import { posix } from "node:path";
import { once } from "node:events";
import type { ReadEntry } from "tar";
import { BuildError } from "./errors.js";

/** Every entry of a packed artifact gets this mtime, so the same tree packs to the same bytes. */
const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

const ALLOWED_TYPES = new Set([
  "File",
  "OldFile",
  "ContiguousFile",
  "Directory",
  "SymbolicLink",
  "Link",
]);

export interface UnpackOptions {
  /** Refuse a source (as received, possibly gzipped) larger than this. */
  maxBytes?: number;
  /** Refuse an archive whose files add up to more than this once unpacked. */
  maxUnpackedBytes?: number;
}

export const DEFAULT_MAX_SOURCE_BYTES = 200 * 1024 * 1024;

/**
 * Unpack a tar (or tar.gz) stream into `dir`, refusing the whole archive when an entry would
 * land outside it: absolute paths, `..`, links pointing out, devices and fifos. node-tar already
 * skips such entries with a warning; a build must fail instead, naming the entry.
 */
export async function unpackTar(
  source: AsyncIterable<Uint8Array>,
  dir: string,
  opts: UnpackOptions = {},
): Promise<{ bytes: number; entries: number }> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SOURCE_BYTES;
  const maxUnpacked = opts.maxUnpackedBytes ?? 5 * maxBytes;
  const refused: string[] = [];
  let unpacked = 0;
  let entries = 0;
  // node-tar is loaded at first use: an idle server never needs it in memory.
  const tar = await import("tar");
  const x = tar.x({
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const e = entry as ReadEntry;
      const why = refusal(path, e);
      if (why !== undefined) {
        refused.push(why);
        return false;
      }
      unpacked += e.size ?? 0;
      if (unpacked > maxUnpacked) {
        refused.push(`the files add up to more than ${formatBytes(maxUnpacked)} unpacked`);
        return false;
      }
      entries++;
      return true;
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    x.on("error", reject);
    x.on("close", () => resolve());
  });
  done.catch(() => undefined); // observed below; avoid an unhandled rejection while writing
  let bytes = 0;
  let failed: unknown;
  x.on("error", (err) => (failed ??= err));
  for await (const chunk of source) {
    if (failed !== undefined) break;
    bytes += chunk.length;
    if (bytes > maxBytes) {
      throw new BuildError(`the source is larger than ${formatBytes(maxBytes)} (the limit)`, 413);
    }
    if (!x.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
      await Promise.race([once(x, "drain"), done]);
    }
  }
  if (failed === undefined) x.end();
  try {
    await done;
  } catch (err) {
    if (refused.length > 0) throw refusedError(refused);
    const message = (err as Error).message.replace(/^TAR_[A-Z_]+: /, "");
    throw new BuildError(`the source is not a readable tar archive: ${message}`);
  }
  if (refused.length > 0) throw refusedError(refused);
  return { bytes, entries };
}

/** Why an entry may not be unpacked, or undefined when it may. */
function refusal(path: string, e: ReadEntry): string | undefined {
  if (!ALLOWED_TYPES.has(e.type)) return `${path}: ${e.type} entries are not allowed`;
  if (escapes(path)) return `${path}: the path is outside the app directory`;
  if (e.type === "SymbolicLink" && e.linkpath !== undefined) {
    if (posix.isAbsolute(e.linkpath) || escapes(posix.join(posix.dirname(path), e.linkpath))) {
      return `${path}: the symbolic link points outside the app directory (${e.linkpath})`;
    }
  }
  if (e.type === "Link" && e.linkpath !== undefined && escapes(e.linkpath)) {
    return `${path}: the hard link points outside the app directory (${e.linkpath})`;
  }
  return undefined;
}

function escapes(path: string): boolean {
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path) || path.includes("\0")) return true;
  const normal = posix.normalize(path.replace(/\\/g, "/"));
  return normal === ".." || normal.startsWith("../") || normal.startsWith("/");
}

function refusedError(refused: string[]): BuildError {
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : "";
  return new BuildError(`the source archive was refused: ${refused[0]}${more}`);
}

/**
 * Pack a directory as a deterministic .tar.gz: entries sorted, a fixed mtime, no owners
 * (`portable`), so the same tree always gives the same bytes and so the same artifact sha.
 */
export async function* packDirectory(dir: string): AsyncIterable<Buffer> {
  const tar = await import("tar");
  yield* tar.c(
    { cwd: dir, gzip: true, portable: true, mtime: FIXED_MTIME, noDirRecurse: true, follow: false },
    listTree(dir),
  ) as unknown as AsyncIterable<Buffer>;
}

/** Every path under `dir`, relative, sorted, directories before their contents. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(rel === "" ? dir : posix.join(dir, rel)).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      out.push(path);
      if (lstatSync(posix.join(dir, path)).isDirectory()) walk(path);
    }
  };
  walk("");
  return out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
}
