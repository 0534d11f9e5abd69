/**
 * What the two pre-receive hooks (src/build/hook.ts, src/gitops/stack-hook.ts) share: reading
 * the ref updates, and streaming a pushed commit's `git archive` to an API route whose answer
 * is copied line by line to the pusher and ends with a result line (result.ts).
 *
 * Imported by hook processes, which start on every push: node built-ins and result.ts only.
 * node:http, not fetch: loading fetch's implementation costs a hook more CPU than the rest of
 * its work.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseResult, type BuildStreamResult } from "./result.js";

/** An all-zero sha: the ref did not exist (old) or is being deleted (new). */
export const ZERO = /^0+$/;

/** Write a line the pusher sees as `remote: …`. */
export const say = (line: string): void => void process.stdout.write(line + "\n");

/** All of stdin (git's `<old> <new> <ref>` lines). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** One archive POST: where, with whose token, and the word its errors use ("build", "sync"). */
export interface ArchivePost {
  url: URL;
  base: string;
  token: string;
  commit: string;
  what: string;
  headers?: Record<string, string>;
}

/** Stream `git archive <commit>` to the route; copy its output lines; return its result. */
export function postArchive(p: ArchivePost): Promise<BuildStreamResult> {
  return new Promise((resolve) => {
    const archive = spawn("git", ["archive", "--format=tar", p.commit], {
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
    const req = (p.url.protocol === "https:" ? httpsRequest : request)(
      p.url,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${p.token}`,
          "content-type": "application/x-tar",
          ...p.headers,
        },
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
          if (!ok)
            return finish({ ok: false, error: errorText(p.what, res.statusCode ?? 0, rest) });
          if (rest !== "") take(rest);
          finish(
            result ?? {
              ok: false,
              error: `the ${p.what} stream ended without a result (did the server stop?)`,
            },
          );
        });
        res.on("error", (err) =>
          finish({ ok: false, error: `the ${p.what} stream broke: ${err.message}` }),
        );
      },
    );
    req.on("error", (err) =>
      finish({ ok: false, error: `could not reach the Gantry API at ${p.base}: ${err.message}` }),
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

function errorText(what: string, status: number, body: string): string {
  try {
    const msg = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
    if (msg) return msg;
  } catch {
    // not JSON
  }
  return `the ${what} request failed with HTTP ${status}${body.trim() ? `: ${body.trim().slice(0, 500)}` : ""}`;
}

/** Run a hook's main: its number is the exit code; a throw rejects the push with a message. */
export function runHook(main: () => Promise<number>, name: string): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      say(` !     ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
