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
 * printed). Kept to node built-ins and hook-post.ts: it starts on every push.
 */
import { postArchive, readStdin, runHook, say, ZERO } from "../build/hook-post.js";
import type { BuildStreamResult } from "../build/result.js";

/** POST the commit's archive to the stack's sync route; return its result line. */
function sync(
  base: string,
  token: string,
  commit: string,
  old: string,
): Promise<BuildStreamResult> {
  const url = new URL("/v1/stack/syncs", base);
  url.searchParams.set("commit", commit);
  if (!ZERO.test(old)) url.searchParams.set("old", old);
  return postArchive({ url, base, token, commit, what: "sync" });
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

runHook(main, "the Gantry stack hook");
