/**
 * apps:connect's API on bad input, and the webhook's checks in their order (connection,
 * signature, delivery id, body, replay), against a real API server with a connection record
 * written directly (so nothing is built: the full path is in apps-connect.slow.test.ts).
 */
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectKey } from "../src/apps/connect-records.js";
import { sealContext } from "../src/api/connect-build.js";
import type { AppConnection } from "../src/model/connect.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
const SECRET = "s3cret";
const BUILT = "c".repeat(40);

beforeAll(async () => {
  t = await startTestApi();
  const res = await call("POST", "/v1/apps", { name: "web" });
  expect(res.status).toBe(201);
  const box = t.api.deps.apps!.secrets!;
  const record: AppConnection = {
    app: "web",
    repo: "https://git.example.com/web.git",
    branch: "main",
    secret: box.encrypt(SECRET, sealContext("web", "secret")),
    pollMs: 0,
    lastCommit: BUILT,
    createdBy: "admin",
    createdAt: new Date().toISOString(),
  };
  await t.store.put(connectKey("web"), JSON.stringify(record));
});
afterAll(async () => t?.close());

function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function error(
  res: Response,
): Promise<{ status: number; code: string; message: string; field?: string }> {
  const b = (await res.json()) as { error: { code: string; message: string; field?: string } };
  return { status: res.status, ...b.error };
}

function hook(
  body: string,
  headers: Record<string, string | undefined>,
  app = "web",
): Promise<Response> {
  const h: Record<string, string> = { "content-type": "application/json" };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  return fetch(`${t.url}/v1/hooks/git/${app}`, { method: "POST", headers: h, body });
}
const sign = (body: string, secret = SECRET): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

describe("POST /v1/apps/:app/connect refuses bad input, naming the field", () => {
  it.each([
    [{ repo: "file:///srv/git/web.git" }, "repo", /reads no local paths/],
    [{ repo: "/srv/git/web.git" }, "repo", /reads no local paths/],
    [{ repo: "ext::sh -c touch% /tmp/x" }, "repo", /not a git URL/],
    [{ repo: "https://h/x.git", branch: "-x" }, "branch", /not a branch name/],
    [{ repo: "https://h/x.git", poll: "5" }, "poll", /duration/],
    [{ repo: "https://h/x.git", poll: "500ms" }, "poll", /between 1s and/],
    [{ repo: "http://127.0.0.1:1/x.git" }, "repo", /cannot read http:\/\/127\.0\.0\.1:1\/x\.git/],
  ])("%j", async (body, field, message) => {
    const e = await error(await call("POST", "/v1/apps/web/connect", body));
    expect(e).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(e.field ?? "").toContain(field);
    expect(e.message).toMatch(message);
  });

  it("an app that does not exist is 404; so is reading a connection there is none of", async () => {
    expect((await call("POST", "/v1/apps/nope/connect", { repo: "https://h/x.git" })).status).toBe(
      404,
    );
    await call("POST", "/v1/apps", { name: "loose" });
    expect((await call("GET", "/v1/apps/loose/connect")).status).toBe(404);
    expect((await call("DELETE", "/v1/apps/loose/connect")).status).toBe(404);
  });

  it("reading a connection shows everything but the secret", async () => {
    const res = await call("GET", "/v1/apps/web/connect");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toMatchObject({
      app: "web",
      repo: "https://git.example.com/web.git",
      branch: "main",
      poll: "off",
      webhookUrl: `${t.url}/v1/hooks/git/web`,
      lastCommit: BUILT,
    });
    expect(JSON.parse(text)).not.toHaveProperty("secret");
  });
});

describe("POST /v1/hooks/git/:app", () => {
  const push = JSON.stringify({ ref: "refs/heads/main", after: BUILT });

  it("an app with no connection is 404", async () => {
    const r = await hook(
      push,
      { "x-hub-signature-256": sign(push), "x-github-delivery": randomUUID() },
      "loose",
    );
    expect(r.status).toBe(404);
  });

  it("an unsigned or badly signed call is 401 and does not take its delivery id", async () => {
    const id = randomUUID();
    const unsigned = await error(
      await hook(push, { "x-github-event": "ping", "x-github-delivery": id }),
    );
    expect(unsigned).toMatchObject({ status: 401, code: "unauthorized" });
    expect(unsigned.message).toMatch(/no signature/);
    const bad = await error(
      await hook(push, {
        "x-github-event": "ping",
        "x-github-delivery": id,
        "x-hub-signature-256": sign(push, "x"),
      }),
    );
    expect(bad).toMatchObject({ status: 401, code: "unauthorized" });
    const gitea = await hook(push, {
      "x-gitea-event": "ping",
      "x-gitea-delivery": id,
      "x-gitea-signature": "00",
    });
    expect(gitea.status).toBe(401);
    // The id is still free: the signed call with it is taken.
    const ok = await hook(push, {
      "x-github-event": "ping",
      "x-github-delivery": id,
      "x-hub-signature-256": sign(push),
    });
    expect(ok.status).toBe(200);
  });

  it("needs a delivery id, a JSON body; refuses a replay with 409", async () => {
    const noId = await error(
      await hook(push, { "x-github-event": "push", "x-hub-signature-256": sign(push) }),
    );
    expect(noId).toMatchObject({ status: 400, code: "invalid_argument" });
    const junk = "not json";
    const bad = await error(
      await hook(junk, {
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": sign(junk),
      }),
    );
    expect(bad.message).toMatch(/not JSON/);
    const id = randomUUID();
    const headers = {
      "x-github-event": "push",
      "x-github-delivery": id,
      "x-hub-signature-256": sign(push),
    };
    const first = await hook(push, headers);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { ignored: string }).ignored).toMatch(/built already/);
    expect(await error(await hook(push, headers))).toMatchObject({ status: 409, code: "replayed" });
  });

  it("says why it ignores other branches, deletions and other events", async () => {
    const send = async (body: unknown, event = "push"): Promise<string> => {
      const b = JSON.stringify(body);
      const r = await hook(b, {
        "x-gitea-event": event,
        "x-gitea-delivery": randomUUID(),
        "x-gitea-signature": sign(b).slice(7),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { ignored: string }).ignored;
    };
    expect(await send({ ref: "refs/heads/dev", after: "d".repeat(40) })).toMatch(
      /not the connected branch main/,
    );
    expect(await send({ ref: "refs/tags/v1", after: "d".repeat(40) })).toMatch(
      /not the connected branch/,
    );
    expect(await send({ ref: "refs/heads/main", after: "0".repeat(40) })).toMatch(/was deleted/);
    expect(await send({}, "issues")).toMatch(/issues event is not used/);
  });
});
