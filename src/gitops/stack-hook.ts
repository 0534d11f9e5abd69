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
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseResult, type BuildStreamResult } from "../build/result.js";

const ZERO = /^0+$/;
const say = (line: string): void => void process.stdout.write(line + "\n");

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * POST the commit's archive; copy the answer's lines; return its result line. node:http, not
 * fetch: loading fetch's implementation costs a hook more CPU than the rest of its work.
 */
function sync(
  base: string,
  token: string,
  commit: string,
  old: string,
): Promise<BuildStreamResult> {
  const url = new URL("/v1/stack/syncs", base);
  url.searchParams.set("commit", commit);
  if (!ZERO.test(old)) url.searchParams.set("old", old);
  return new Promise((resolve) => {
    const archive = spawn("git", ["archive", "--format=tar", commit], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let archiveErr = "";
    archive.stderr.on("data", (c: Buffer) => (archiveErr += c.toString()));
    let settled = false;
    const finish = (r: BuildStreamResult): void => {
      if (settled) return;
      settled = true;
      archive.kill();
      resolve(r);
    };
    const req = (url.protocol === "https:" ? httpsRequest : request)(
      url,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-tar" },
      },
      (res) => {
        const ok = res.statusCode === 200;
        let rest = "";
        let result: BuildStreamResult | undefined;
        const take = (line: string): void => {
          const r = parseResult(line);
          if (r !== undefined) result = r;
          else say(line);
        };
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (!ok) {
            if (rest.length < 64 * 1024) rest += chunk;
            return;
          }
          const lines = (rest + chunk).split("\n");
          rest = lines.pop() ?? "";
          lines.forEach(take);
        });
        res.on("end", () => {
          if (!ok) return finish({ ok: false, error: errorText(res.statusCode ?? 0, rest) });
          if (rest !== "") take(rest);
          finish(
            result ?? {
              ok: false,
              error: "the sync stream ended without a result (did the server stop?)",
            },
          );
        });
        res.on("error", (err) =>
          finish({ ok: false, error: `the sync stream broke: ${err.message}` }),
        );
      },
    );
    req.on("error", (err) =>
      finish({ ok: false, error: `could not reach the Gantry API at ${base}: ${err.message}` }),
    );
    archive.stdout.pipe(req);
    archive.on("close", (code) => {
      if (code !== 0 && !settled) {
        req.destroy();
        finish({ ok: false, error: `git archive failed: ${archiveErr.trim() || `exit ${code}`}` });
      }
    });
  });
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
