/**
 * The stack repository's pre-receive hook (installed by createStackRepo). git runs it inside
 * `git http-backend` with the pushed ref updates on stdin; the push's quarantined objects are
 * visible to git commands run here, and to nothing else — so the pushed commit travels to the
 * server as `git archive` (the server never reads the quarantine itself).
 *
 * A push to main streams the archive to `POST /v1/stack/syncs?commit=<new>&old=<old>`, which
 * plans and applies it with the pusher's token and streams the plan and the apply back; they
 * are copied to stdout (the pusher sees `remote: …`). Exit 0 accepts the push, 1 rejects it and
 * no ref moves. Other branches are accepted untouched; deleting main is refused.
 *
 * Environment (set by the stack's git route): GANTRY_HOOK_URL, GANTRY_HOOK_TOKEN (never
 * printed). Kept to node built-ins and result.ts: it starts on every push.
 */
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { parseResult, type BuildStreamResult } from "../build/result.js";

const ZERO = /^0+$/;
const say = (line: string): void => void process.stdout.write(line + "\n");

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** POST the commit's archive; copy the answer's lines; return its result line. */
async function sync(
  base: string,
  token: string,
  commit: string,
  old: string,
): Promise<BuildStreamResult> {
  const url = new URL("/v1/stack/syncs", base);
  url.searchParams.set("commit", commit);
  if (!ZERO.test(old)) url.searchParams.set("old", old);
  const archive = spawn("git", ["archive", "--format=tar", commit], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let archiveErr = "";
  archive.stderr.on("data", (c: Buffer) => (archiveErr += c.toString()));
  const archived = new Promise<number | null>((r) => archive.on("close", r));
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/x-tar" },
      body: Readable.toWeb(archive.stdout) as ReadableStream<Uint8Array>,
      duplex: "half",
    } as RequestInit);
  } catch (err) {
    archive.kill();
    const code = await archived;
    if (code !== 0 && archiveErr !== "")
      return { ok: false, error: `git archive failed: ${archiveErr.trim()}` };
    return {
      ok: false,
      error: `could not reach the Gantry API at ${base}: ${(err as Error).message}`,
    };
  }
  if (res.status !== 200) return { ok: false, error: errorText(res.status, await res.text()) };
  let result: BuildStreamResult | undefined;
  let rest = "";
  const decoder = new TextDecoder();
  const take = (line: string): void => {
    const r = parseResult(line);
    if (r !== undefined) result = r;
    else say(line);
  };
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      lines.forEach(take);
    }
  } catch (err) {
    return { ok: false, error: `the sync stream broke: ${(err as Error).message}` };
  }
  if (rest !== "") take(rest);
  return (
    result ?? { ok: false, error: "the sync stream ended without a result (did the server stop?)" }
  );
}

function errorText(status: number, body: string): string {
  try {
    const msg = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
    if (msg) return msg;
  } catch {
    // not JSON
  }
  return `the sync request failed with HTTP ${status}${body.trim() ? `: ${body.trim().slice(0, 500)}` : ""}`;
}

async function main(): Promise<number> {
  const base = process.env["GANTRY_HOOK_URL"];
  const token = process.env["GANTRY_HOOK_TOKEN"];
  if (!base || !token) {
    say(" !     the stack repository only accepts pushes through the Gantry API (git over HTTP)");
    return 1;
  }
  let accepted = true;
  for (const line of (await readStdin()).split("\n")) {
    const [old = "", commit = "", ref = ""] = line.trim().split(" ");
    if (ref === "") continue;
    const branch = ref.replace(/^refs\/heads\//, "");
    if (ref !== "refs/heads/main") {
      say(`-----> ${branch}: accepted, not applied (only main is the stack)`);
      continue;
    }
    if (ZERO.test(commit)) {
      say(" !     deleting main is not allowed: it is the stack the platform follows");
      accepted = false;
      continue;
    }
    const result = await sync(base, token, commit, old);
    if (!result.ok) {
      say(` !     Push rejected: ${result.error ?? "the sync failed"}`);
      accepted = false;
    }
  }
  return accepted ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(` !     the Gantry stack hook failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
