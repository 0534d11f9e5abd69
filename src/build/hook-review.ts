/**
 * The pre-receive hook's part for branches other than main/master (src/build/hook.ts), when the
 * app's pipeline has review apps on (the git route says so in GANTRY_REVIEWS): a pushed branch
 * is built into its review app, a deleted one destroys it (`/v1/apps/<app>/reviews`).
 *
 * Imported by the hook process: node built-ins and hook-post.ts only.
 */
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { postArchive, say, ZERO } from "./hook-post.js";

/** Build or destroy the review app of one branch update; answers whether the push may go on. */
export async function reviewUpdate(
  base: string,
  token: string,
  app: string,
  u: { new: string; ref: string },
): Promise<boolean> {
  const branch = u.ref.replace(/^refs\/heads\//, "");
  const url = new URL(`/v1/apps/${encodeURIComponent(app)}/reviews`, base);
  url.searchParams.set("branch", branch);
  if (ZERO.test(u.new)) {
    const r = await destroy(url, token);
    say(
      r.error !== undefined
        ? ` !     ${branch}: could not destroy its review app: ${r.error}`
        : r.destroyed
          ? `-----> ${branch} deleted: review app ${r.destroyed} destroyed`
          : `-----> ${branch} deleted (it had no review app)`,
    );
    return true;
  }
  url.searchParams.set("commit", u.new);
  const result = (await postArchive({
    url,
    base,
    token,
    commit: u.new,
    what: "review build",
    headers: { accept: "text/plain" },
  })) as {
    ok: boolean;
    error?: string;
    review?: string;
    release?: number;
    url?: string;
    skipped?: boolean;
  };
  if (result.skipped === true) {
    say(`-----> ${branch}: accepted without a build (review apps are off)`);
    return true;
  }
  if (!result.ok) {
    say(` !     Push of ${branch} rejected: ${result.error ?? "the review app's build failed"}`);
    return false;
  }
  say(
    `-----> review app ${result.review ?? "?"}${result.release ? ` v${result.release}` : ""} deployed at ${result.url ?? "?"}`,
  );
  return true;
}

/** DELETE the branch's review app; its name, or the error. */
function destroy(url: URL, token: string): Promise<{ destroyed?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = (url.protocol === "https:" ? httpsRequest : request)(
      url,
      { method: "DELETE", headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          try {
            const parsed = JSON.parse(body) as {
              destroyed?: string | null;
              error?: { message?: string };
            };
            if (res.statusCode === 200)
              resolve(parsed.destroyed ? { destroyed: parsed.destroyed } : {});
            else resolve({ error: parsed.error?.message ?? `HTTP ${res.statusCode}` });
          } catch {
            resolve({ error: `HTTP ${res.statusCode}` });
          }
        });
      },
    );
    req.on("error", (err) => resolve({ error: err.message }));
    req.end();
  });
}
