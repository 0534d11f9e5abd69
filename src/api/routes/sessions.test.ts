import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One request with the admin token (or `token`), answering status and parsed JSON. */
async function call(
  method: string,
  path: string,
  body?: string,
  token = t.adminToken,
): Promise<Answer> {
  const res = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

async function session(opts: Record<string, unknown> = {}): Promise<string> {
  const res = await call("POST", "/v1/sessions", JSON.stringify(opts));
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const acquire = (key: string, id: string, value = ""): Promise<Answer> =>
  call("PUT", `/v1/kv/${key}?acquire=${id}`, value);
const release = (key: string, id: string, value?: string): Promise<Answer> =>
  call("PUT", `/v1/kv/${key}?release=${id}`, value);
const read = (key: string): Promise<Answer> => call("GET", `/v1/kv/${key}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("sessions", () => {
  it("creates a session bound to a lease with defaults, and shows it", async () => {
    const res = await call("POST", "/v1/sessions", "");
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "", ttl: "15s", behavior: "release" });
    expect(res.body.lease).toMatch(/^[1-9]\d*$/);
    const got = await call("GET", `/v1/sessions/${res.body.id}`);
    expect(got.body).toMatchObject({ id: res.body.id, locks: [] });
    expect(got.body.expiresIn).toBeGreaterThan(10);
    const list = await call("GET", "/v1/sessions");
    expect(list.body.map((s: { id: string }) => s.id)).toContain(res.body.id);
  });

  it.each([
    [{ ttl: "0s" }, "ttl"],
    [{ ttl: "2d" }, "ttl"],
    [{ ttl: "1500ms" }, "ttl"],
    [{ ttl: 90_000 }, "ttl"],
    [{ behavior: "explode" }, "behavior"],
    [{ name: "a\nb" }, "name"],
    [{ nodes: [] }, "nodes"],
  ])("refuses %j with a 400 naming %s", async (body, field) => {
    const res = await call("POST", "/v1/sessions", JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_argument", field });
  });

  it("answers 400 for a malformed id and 404 for an unknown one", async () => {
    expect((await call("PUT", "/v1/sessions/nope/renew")).status).toBe(400);
    const gone = await call("PUT", "/v1/sessions/00000000-0000-4000-8000-000000000000/renew");
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("session_not_found");
  });

  it("needs session rights: a kv-only token cannot create one", async () => {
    const kvOnly = await t.clientWith([{ resource: "kv", prefix: "", access: "write" }]);
    const res = await call("POST", "/v1/sessions", "{}", kvOnly.secret);
    expect(res.status).toBe(403);
    const named = await t.clientWith([{ resource: "session", prefix: "jobs/", access: "write" }]);
    expect((await call("POST", "/v1/sessions", '{"name":"jobs/a"}', named.secret)).status).toBe(
      201,
    );
    expect((await call("POST", "/v1/sessions", '{"name":"other"}', named.secret)).status).toBe(403);
  });
});

describe("locks", () => {
  it("lets one session acquire and refuses a second until it is released", async () => {
    const a = await session();
    const b = await session();
    const got = await acquire("l/one", a, "by a");
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ ok: true, acquired: true, session: a });

    const held = await acquire("l/one", b, "by b");
    expect(held.status).toBe(409);
    expect(held.body).toMatchObject({
      ok: false,
      acquired: false,
      error: { code: "lock_held" },
      holder: { session: a },
    });
    const entry = await read("l/one");
    expect(entry.body).toMatchObject({ value: b64("by a"), session: a });

    // The holder may acquire again to update the value; it still holds it.
    expect((await acquire("l/one", a, "by a, v2")).status).toBe(200);
    expect((await read("l/one")).body).toMatchObject({ value: b64("by a, v2"), session: a });

    expect((await release("l/one", a)).body).toMatchObject({ ok: true, released: true });
    const freed = await read("l/one");
    expect(freed.body).toMatchObject({ value: b64("by a, v2"), lease: "0" });
    expect(freed.body.session).toBeUndefined();

    expect((await acquire("l/one", b, "by b")).status).toBe(200);
    expect((await read("l/one")).body.session).toBe(b);
  });

  it("refuses a release by a session that does not hold the lock", async () => {
    const a = await session();
    const b = await session();
    await acquire("l/two", a, "x");
    const res = await release("l/two", b);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      ok: false,
      error: { code: "not_lock_holder", field: "release" },
      holder: { session: a },
    });
    expect((await read("l/two")).body.session).toBe(a);
    // Releasing a key nobody holds is refused the same way.
    await release("l/two", a);
    expect((await release("l/two", a)).body.error.code).toBe("not_lock_holder");
  });

  it("release with a body replaces the value; without one keeps it", async () => {
    const a = await session();
    await acquire("l/val", a, "first");
    await release("l/val", a, "done");
    expect((await read("l/val")).body.value).toBe(b64("done"));
  });

  it("lets exactly one of many racing sessions acquire", async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, () => session()));
    const answers = await Promise.all(ids.map((id) => acquire("l/race", id, id)));
    const winners = answers.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(answers.filter((r) => r.status === 409)).toHaveLength(7);
    expect((await read("l/race")).body.session).toBe(winners[0]!.body.session);
  });

  it("answers clear 4xx for unknown sessions and bad parameters", async () => {
    const unknown = await acquire("l/x", "00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: "session_not_found", field: "acquire" });
    expect((await acquire("l/x", "not-a-uuid")).body.error).toMatchObject({
      code: "invalid_argument",
      field: "acquire",
    });
    const a = await session();
    const both = await call("PUT", `/v1/kv/l/x?acquire=${a}&release=${a}`);
    expect(both.status).toBe(400);
    const withCas = await call("PUT", `/v1/kv/l/x?acquire=${a}&cas=0`);
    expect(withCas.body.error).toMatchObject({ code: "invalid_argument", field: "cas" });
    expect((await read("l/x")).status).toBe(404); // nothing was written
  });

  it("destroying a session frees its locks: kept unheld (release) or deleted (delete)", async () => {
    const rel = await session({ behavior: "release" });
    const del = await session({ behavior: "delete" });
    const other = await session();
    await acquire("l/kept", rel, "v1");
    await acquire("l/gone", del, "v2");
    expect((await call("GET", `/v1/sessions/${rel}`)).body.locks).toEqual(["l/kept"]);

    const d1 = await call("DELETE", `/v1/sessions/${rel}`);
    expect(d1.body).toMatchObject({ ok: true, released: ["l/kept"], deleted: [] });
    const d2 = await call("DELETE", `/v1/sessions/${del}`);
    expect(d2.body).toMatchObject({ ok: true, released: [], deleted: ["l/gone"] });

    expect((await read("l/kept")).body).toMatchObject({ value: b64("v1"), lease: "0" });
    expect((await read("l/gone")).status).toBe(404);
    expect((await call("GET", `/v1/sessions/${rel}`)).status).toBe(404);
    expect((await acquire("l/kept", other)).status).toBe(200);
    expect((await acquire("l/gone", other)).status).toBe(200);
    // A destroyed session can no longer acquire.
    expect((await acquire("l/other", del)).body.error.code).toBe("session_not_found");
  });

  it("frees the lock when the holder stops renewing: after the TTL, not before", async () => {
    const dead = await session({ ttl: "1s" });
    const alive = await session({ ttl: "1s" });
    const waiter = await session();
    await acquire("l/ttl-dead", dead, "x");
    await acquire("l/ttl-alive", alive, "y");
    expect((await read("l/ttl-dead")).body.session).toBe(dead);
    const started = Date.now();
    // `alive` renews every ~300 ms; `dead` does not.
    while (Date.now() - started < 2500) {
      expect((await call("PUT", `/v1/sessions/${alive}/renew`)).status).toBe(200);
      await sleep(300);
    }
    expect((await read("l/ttl-dead")).status).toBe(404);
    expect((await call("GET", `/v1/sessions/${dead}`)).status).toBe(404);
    expect((await acquire("l/ttl-dead", waiter)).status).toBe(200);
    expect((await read("l/ttl-alive")).body.session).toBe(alive);
    expect((await acquire("l/ttl-alive", waiter)).status).toBe(409);
  });

  it("wakes a blocking read on the lock key when the holder releases", async () => {
    const a = await session();
    await acquire("l/block", a, "x");
    const before = await call("GET", "/v1/kv/l/block");
    const index = before.body.modRevision as number;
    const t0 = Date.now();
    const blocked = call("GET", `/v1/kv/l/block?index=${index}&wait=10s`);
    await sleep(300);
    await release("l/block", a);
    const after = await blocked;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(after.body.lease).toBe("0");
  });
});
