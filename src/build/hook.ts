/**
 * Gantry's pre-receive hook (installed in every app repository by createAppRepo). git runs it
 * inside `git http-backend` with the pushed ref updates on stdin (`<old> <new> <ref>` lines);
 * the quarantined objects of the push are visible to git commands run here.
 *
 * For main/master: `git archive <new>` is streamed to
 * `POST /v1/apps/<app>/builds?commit=<new>&ref=<ref>` and the streamed build + deploy log is
 * copied to stdout (the pusher sees `remote: …`). Exit 0 accepts the push; 1 rejects it and no
 * ref moves. Other branches are accepted without a build, unless the app's pipeline has review
 * apps on (GANTRY_REVIEWS=1): then a branch is built into its review app (a failure rejects
 * it), and deleting it destroys that app (src/build/hook-review.ts).
 *
 * Environment (set by the API's git route): GANTRY_HOOK_URL (the API), GANTRY_HOOK_TOKEN (the
 * pusher's token: never printed), GANTRY_APP. Kept to node built-ins: it starts on every push.
 */
import { spawn } from "node:child_process";
import { postArchive, readStdin, runHook, say, ZERO } from "./hook-post.js";
import { reviewUpdate } from "./hook-review.js";
import type { BuildStreamResult } from "./result.js";

const BUILT = new Set(["refs/heads/main", "refs/heads/master"]);

interface Update {
  old: string;
  new: string;
  ref: string;
}

function parseUpdates(text: string): Update[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const [oldSha = "", newSha = "", ref = ""] = l.split(" ");
      return { old: oldSha, new: newSha, ref };
    });
}

/** Stream `git archive <commit>` to the build route; return its result. */
function build(
  base: string,
  token: string,
  app: string,
  commit: string,
  ref: string,
): Promise<BuildStreamResult> {
  const url = new URL(`/v1/apps/${encodeURIComponent(app)}/builds`, base);
  url.searchParams.set("commit", commit);
  // Ties the release to this push: should the push not complete, it is abandoned.
  url.searchParams.set("ref", ref);
  return postArchive({
    url,
    base,
    token,
    commit,
    what: "build",
    headers: { accept: "text/plain" },
  });
}

/** Where a ref points now ("" when it does not exist). */
function currentValue(ref: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("git", ["rev-parse", "--verify", "-q", ref], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.on("close", () => resolve(out.trim()));
    p.on("error", () => resolve(""));
  });
}

async function main(): Promise<number> {
  const base = process.env["GANTRY_HOOK_URL"];
  const token = process.env["GANTRY_HOOK_TOKEN"];
  const app = process.env["GANTRY_APP"];
  if (!base || !token || !app) {
    say(" !     this repository only accepts pushes through the Gantry API (git over HTTP)");
    return 1;
  }
  // The app's pipeline builds other branches into review apps (src/build/hook-review.ts).
  const reviews = process.env["GANTRY_REVIEWS"] === "1";
  const updates = parseUpdates(await readStdin());
  let accepted = true;
  for (const u of updates) {
    const branch = u.ref.replace(/^refs\/heads\//, "");
    if (!BUILT.has(u.ref)) {
      // Branches only: a tag gets no review app.
      if (reviews && u.ref.startsWith("refs/heads/")) {
        if (!(await reviewUpdate(base, token, app, u))) accepted = false;
        continue;
      }
      say(
        `-----> ${branch}: accepted without a build (only main and master are built and deployed)`,
      );
      continue;
    }
    if (ZERO.test(u.new)) {
      say(` !     deleting ${branch} is not allowed: it is what ${app} deploys from`);
      accepted = false;
      continue;
    }
    const current = await currentValue(u.ref);
    if (current !== (ZERO.test(u.old) ? "" : u.old)) {
      say(
        ` !     ${branch} moved while this push was waiting (another push?): fetch and push again`,
      );
      accepted = false;
      continue;
    }
    const result = await build(base, token, app, u.new, u.ref);
    if (result.ok) {
      const where = result.url ? ` at ${result.url}` : "";
      say(`-----> ${app}${result.release ? ` v${result.release}` : ""} deployed${where}`);
    } else {
      say(` !     Push rejected: ${result.error ?? "the build failed"}`);
      accepted = false;
    }
  }
  return accepted ? 0 : 1;
}

runHook(main, "the Gantry hook");
