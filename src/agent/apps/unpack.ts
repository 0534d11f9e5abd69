import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GantryError } from "../../errors.js";
import type { ArtifactCache } from "./artifacts.js";

/** An artifact that tries to reach outside its directory, or holds what an app has no use for. */
export class ArtifactRefusedError extends GantryError {
  constructor(message: string) {
    super("artifact_refused", message, { status: 422 });
  }
}

/** What the check needs to know of an archive entry. */
export interface EntryInfo {
  path: string;
  type: string;
  linkpath?: string;
}

const ALLOWED = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** A relative path's segments without `.` and empty ones; undefined if absolute or with `..`. */
function plainSegments(path: string): string[] | undefined {
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path) || path.includes("\\")) return undefined;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return parts.includes("..") ? undefined : parts;
}

/**
 * Refuse an archive that could write or point outside the directory it is unpacked into:
 * absolute paths, `..`, entries under a path the archive itself makes a symlink (writing through
 * it), hard links to anything but a plain path inside (or to a symlink, which would move its
 * relative target), symlinks whose target leaves the directory, and devices or FIFOs.
 *
 * Symlink targets are resolved as the kernel would: `..` after a component that is itself a
 * symlink is refused, because lexical `a/..` is not where the kernel lands when `a` is a link.
 * Relative links that stay inside (node_modules/.bin/x -> ../x/bin/x) are fine.
 */
export function checkEntries(entries: readonly EntryInfo[]): void {
  const symlinks = new Set<string>();
  const paths: { entry: EntryInfo; parts: string[] }[] = [];
  for (const entry of entries) {
    if (!ALLOWED.has(entry.type))
      throw new ArtifactRefusedError(`${entry.path}: a ${entry.type} entry is not allowed`);
    const parts = plainSegments(entry.path);
    if (parts === undefined)
      throw new ArtifactRefusedError(`${entry.path}: the path leaves the app directory`);
    if (parts.length === 0 && entry.type !== "Directory")
      throw new ArtifactRefusedError(`${entry.path}: not a file name`);
    if (entry.type === "SymbolicLink") symlinks.add(parts.join("/"));
    paths.push({ entry, parts });
  }
  const throughLink = (parts: string[]): string | undefined => {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  for (const { entry, parts } of paths) {
    const via = throughLink(parts);
    if (via !== undefined)
      throw new ArtifactRefusedError(`${entry.path}: written through the symlink ${via}`);
    if (entry.type === "Link") {
      const target = plainSegments(entry.linkpath ?? "");
      if (target === undefined || target.length === 0)
        throw new ArtifactRefusedError(
          `${entry.path}: a hard link to ${entry.linkpath} leaves the app directory`,
        );
      if (throughLink(target) !== undefined || symlinks.has(target.join("/")))
        throw new ArtifactRefusedError(`${entry.path}: a hard link to a symlink is not allowed`);
    }
    if (entry.type === "SymbolicLink") {
      const link = entry.linkpath ?? "";
      if (link.startsWith("/") || link === "")
        throw new ArtifactRefusedError(`${entry.path}: a symlink to ${link || "nothing"}`);
      const stack = parts.slice(0, -1);
      let afterLink = false;
      for (const seg of link.split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") {
          if (afterLink || stack.length === 0)
            throw new ArtifactRefusedError(
              `${entry.path}: the symlink to ${link} leaves the app directory`,
            );
          stack.pop();
        } else {
          stack.push(seg);
          if (symlinks.has(stack.join("/"))) afterLink = true;
        }
      }
    }
  }
}

/**
 * Unpack a `.tar.gz` artifact into `dest` (replacing it): every entry is checked first
 * (checkEntries), then it is extracted into a fresh directory next to `dest` and renamed into
 * place, so `dest` is either the whole artifact or untouched. Ownership is not taken from the
 * archive and setuid/setgid/sticky bits are dropped.
 */
export async function unpackArtifact(archive: string, dest: string): Promise<void> {
  // Loaded at first use: an idle agent never needs node-tar in memory.
  const { list, extract } = await import("tar");
  const entries: EntryInfo[] = [];
  await list({
    file: archive,
    strict: true,
    onReadEntry: (e) => {
      entries.push({
        path: e.path,
        type: e.type,
        ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
      });
    },
  }).catch((err: unknown) => {
    throw new ArtifactRefusedError(
      `not a readable .tar.gz: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  checkEntries(entries);
  const tmp = `${dest}.unpack-${randomBytes(4).toString("hex")}`;
  mkdirSync(tmp, { recursive: true, mode: 0o755 });
  try {
    await extract({
      file: archive,
      cwd: tmp,
      strict: true,
      preserveOwner: false,
      filter: (_path, entry) => {
        if ("mode" in entry && typeof entry.mode === "number") entry.mode &= 0o777;
        return true;
      },
    });
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof GantryError) throw err;
    throw new ArtifactRefusedError(
      `cannot unpack: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * `dir/app` holds artifact `sha` unpacked (`dir/artifact` names the one it holds): unpacked from
 * the cache, downloaded first if need be, unless it is there already.
 */
export async function ensureUnpacked(
  dir: string,
  sha: string,
  artifacts: ArtifactCache,
  signal: AbortSignal,
): Promise<void> {
  const marker = join(dir, "artifact");
  const have = existsSync(marker) ? readFileSync(marker, "utf8").trim() : "";
  if (have === sha && existsSync(join(dir, "app"))) return;
  const archive = await artifacts.ensure(sha, signal);
  await unpackArtifact(archive, join(dir, "app"));
  writeFileSync(marker, sha + "\n");
}
