import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import * as tar from "tar";
import { DockerError, engineMessage, engineStatus } from "../docker/engine.js";

/**
 * Gantry's own base image (issue 12): there is no image hub, so the image slug apps run on in
 * containers (and test Dockerfiles start FROM) is made from the host's own files: dash as
 * /bin/sh, a few coreutils, the host's node, the shared libraries they load, and an
 * /etc/passwd with nobody (65534). It is made once per set of host files and found again by tag.
 */

export const BASE_REPO = "gantry/base";
export const BASE_LABEL = "gantry.base";
/** Bumped when the layout below changes: a new tag even for the same host files. */
const LAYOUT = "2";

/** The programs put in the image, by name (found on the host's PATH dirs below). */
export const BASE_PROGRAMS = [
  "sh",
  "sleep",
  "cat",
  "echo",
  "env",
  "ls",
  "pwd",
  "true",
  "false",
  "id",
  "mkdir",
  "rm",
  "cp",
  "mv",
  "ln",
  "touch",
  "head",
  "tail",
  "wc",
  "grep",
  "sed",
  "date",
  "uname",
  "node",
] as const;

const SEARCH = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

const PASSWD =
  "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

/** A file copied from the host: where it is read, where it goes in the image. */
export interface HostFile {
  source: string;
  target: string;
}

/**
 * The shared libraries an `ldd` listing names (absolute paths only: the vdso has none).
 * Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or
 * `/lib64/ld-linux-x86-64.so.2 (0x…)`.
 */
export function parseLdd(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/**
 * Where a host path goes in the image's merged-/usr layout (/bin, /lib, /lib64 and /sbin are
 * links into /usr there, as on Debian): /lib/x/libc.so.6 → /usr/lib/x/libc.so.6.
 */
export function imagePath(path: string): string {
  const m = /^\/(bin|sbin|lib|lib64)(\/.*)$/.exec(path);
  return m === null ? path : `/usr/${m[1]}${m[2]}`;
}

function findProgram(name: string): string | undefined {
  for (const dir of SEARCH) {
    try {
      if (statSync(join(dir, name)).isFile()) return join(dir, name);
    } catch {
      // not in this one
    }
  }
  return undefined;
}

const run = promisify(execFile);

/** The host files the image is made of: each program (as /usr/bin/<name>) and its libraries. */
export async function baseImageFiles(
  programs: readonly string[] = BASE_PROGRAMS,
): Promise<HostFile[]> {
  const files = new Map<string, HostFile>();
  const found = programs.map((name) => ({ name, path: findProgram(name) }));
  for (const { name, path } of found)
    if (path === undefined && (name === "sh" || name === "node"))
      throw new DockerError(`the base image needs ${name}, which this host does not have`);
  // A missing helper is not fatal (sh builtins cover the driver contract); static ones list none.
  const present = found.filter((f): f is { name: string; path: string } => f.path !== undefined);
  const listings = await Promise.all(
    present.map(({ path }) => run("ldd", [path]).catch(() => ({ stdout: "" }))),
  );
  present.forEach(({ name, path }, i) => {
    files.set(`/usr/bin/${name}`, { source: realpathSync(path), target: `/usr/bin/${name}` });
    for (const lib of parseLdd(listings[i]!.stdout)) {
      const target = imagePath(lib);
      files.set(target, { source: realpathSync(lib), target });
    }
  });
  return [...files.values()].sort((a, b) => a.target.localeCompare(b.target));
}

/** The image's tag: a hash of what it holds (each file's place, size and modification time). */
export function baseImageTag(files: readonly HostFile[]): string {
  const h = createHash("sha256").update(`layout ${LAYOUT}\n`);
  for (const f of files) {
    const s = statSync(f.source);
    h.update(`${f.target}\0${f.source}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

/** Lay the root filesystem out in `root`. */
function makeRootfs(root: string, files: readonly HostFile[]): void {
  for (const d of ["usr/bin", "usr/lib", "usr/lib64", "usr/sbin", "etc", "app", "root"])
    mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  for (const d of ["bin", "sbin", "lib", "lib64"]) symlinkSync(`usr/${d}`, join(root, d));
  mkdirSync(join(root, "tmp"));
  chmodSync(join(root, "tmp"), 0o1777);
  for (const f of files) {
    const dest = join(root, f.target);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    copyFileSync(f.source, dest);
    chmodSync(dest, statSync(f.source).mode & 0o755);
  }
  writeFileSync(join(root, "etc/passwd"), PASSWD, { mode: 0o644 });
  writeFileSync(join(root, "etc/group"), GROUP, { mode: 0o644 });
  writeFileSync(
    join(root, "etc/nsswitch.conf"),
    "passwd: files\ngroup: files\nhosts: files dns\n",
    {
      mode: 0o644,
    },
  );
}

/** Import the tar stream as `repo:tag`; resolves once the engine has the image. */
async function importRootfs(
  engine: Docker,
  root: string,
  repo: string,
  tag: string,
): Promise<void> {
  // Every file is root's in the image, whoever makes it; modes stay exact (/tmp 1777), which
  // tar's `portable` would not keep.
  const stream = tar.create(
    {
      cwd: root,
      onWriteEntry: (e) => {
        if (e.stat !== undefined) Object.assign(e.stat, { uid: 0, gid: 0 });
      },
    },
    ["."],
  );
  const res = await engine.importImage(stream as unknown as NodeJS.ReadableStream, {
    repo,
    tag,
    changes: [
      `LABEL ${BASE_LABEL}=1`,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "WORKDIR /app",
      'CMD ["/bin/sh"]',
    ],
  });
  await new Promise<void>((resolve, reject) => {
    engine.modem.followProgress(res, (err: Error | null, events: { error?: string }[]) => {
      const failed = err?.message ?? events.find((e) => e.error !== undefined)?.error;
      if (failed === undefined) resolve();
      else reject(new DockerError(`importing the base image failed: ${failed}`));
    });
  });
}

/**
 * The newest base image on this engine is also `gantry/base:latest`, so a Dockerfile can say
 * `FROM gantry/base` (a Dockerfile build makes the image first when it names it).
 */
export const BASE_LATEST = `${BASE_REPO}:latest`;

/** Whether a Dockerfile builds FROM Gantry's base image (any tag). */
export function usesBaseImage(dockerfile: string): boolean {
  return /^\s*FROM\s+(?:--\S+\s+)*gantry\/base(?::\S+)?(?:\s|$)/im.test(dockerfile);
}

async function tagLatest(engine: Docker, ref: string): Promise<void> {
  try {
    await engine.getImage(ref).tag({ repo: BASE_REPO, tag: "latest" });
  } catch (err) {
    throw new DockerError(
      `cannot tag ${ref} as ${BASE_LATEST}: ${engineMessage(err)}`,
      "docker_error",
      502,
      err,
    );
  }
}

let hostFiles: Promise<HostFile[]> | undefined;
const making = new Map<string, Promise<string>>();

/**
 * Gantry's base image on this engine, made from host files if it is not there yet (one `docker
 * import`, about a second). Returns its ref `gantry/base:<hash>`; fast when it exists.
 */
export async function ensureBaseImage(engine: Docker): Promise<string> {
  // The file list (ldd of every program) once per process; the tag (their stats) every time.
  hostFiles ??= baseImageFiles().catch((err: unknown) => {
    hostFiles = undefined;
    throw err;
  });
  const files = await hostFiles;
  const tag = baseImageTag(files);
  const ref = `${BASE_REPO}:${tag}`;
  let p = making.get(ref);
  if (p === undefined) {
    p = makeIfMissing(engine, ref, tag, files).finally(() => making.delete(ref));
    making.set(ref, p);
  }
  return p;
}

async function makeIfMissing(
  engine: Docker,
  ref: string,
  tag: string,
  files: readonly HostFile[],
): Promise<string> {
  try {
    const have = await engine.getImage(ref).inspect();
    if (!(have.RepoTags ?? []).includes(BASE_LATEST)) await tagLatest(engine, ref);
    return ref;
  } catch (err) {
    if (engineStatus(err) !== 404)
      throw new DockerError(
        `cannot look up ${ref}: ${engineMessage(err)}`,
        "docker_error",
        502,
        err,
      );
  }
  const root = mkdtempSync(join(tmpdir(), "gantry-base-"));
  try {
    makeRootfs(root, files);
    await importRootfs(engine, root, BASE_REPO, tag);
    await tagLatest(engine, ref);
    return ref;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
