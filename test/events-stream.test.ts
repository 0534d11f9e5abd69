/**
 * The dashboard's event stream (GET /v1/events) over real HTTP, on the embedded store and on a
 * real etcd: changes arrive live, resume without repeats, are filtered by the token, name no
 * values, and the stream reports compaction and ends when the server closes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore } from "../src/store/index.js";
import type { Store } from "../src/store/types.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { openSse, type SseEvent } from "./helpers/sse.js";

interface ChangeData {
  revision: number;
  changes: { topic: string; name: string; type: string }[];
}
const isChange = (e: SseEvent): boolean => e.event === "change";
const changes = (e: SseEvent): ChangeData["changes"] => (e.data as ChangeData).changes;

function eventsSuite(backend: "embedded" | "etcd"): void {
  describe(`GET /v1/events (${backend} store)`, () => {
    let t: TestApi;
    let etcd: EtcdServer | undefined;
    let store: Store | undefined;
    const url = (query: string): string => `${t.url}/v1/events${query}`;

    beforeAll(async () => {
      if (backend === "etcd") {
        etcd = await startEtcd();
        store = await openStore(`etcd://${etcd.endpoints[0]!.replace(/^http:\/\//, "")}`);
      }
      t = await startTestApi(store === undefined ? {} : { store });
    }, 30_000);
    afterAll(async () => {
      await t?.close();
      await store?.close();
      await etcd?.cleanup();
    });

    it("sends ready, then a change within a second, naming what changed and never its value", async () => {
      const s = await openSse(url("?topics=kv,apps"), t.adminToken);
      const ready = await s.next((e) => e.event === "ready");
      const now = (await t.store.status()).revision;
      expect(ready.data).toEqual({ revision: now });
      expect(ready.id).toBe(String(now)); // a reconnect before any change resumes from here
      const began = Date.now();
      const rev = await t.admin.kvPut("live/a", "secret-value-123");
      const e = await s.next(isChange, 1000);
      expect(Date.now() - began).toBeLessThan(1000);
      expect(e.id).toBe(String(rev));
      expect(e.data).toEqual({
        revision: rev,
        changes: [{ topic: "kv", name: "live/a", type: "put" }],
      });
      // A key of a topic not asked for sends nothing; the next apps change does.
      await t.store.put("nodes/n1", "{}");
      const app = await t.store.put("apps/web", JSON.stringify({ name: "web" }));
      const next = await s.next(isChange);
      expect(next.data).toEqual({
        revision: app.revision,
        changes: [{ topic: "apps", name: "web", type: "put" }],
      });
      await s.close();
      expect(s.raw).not.toContain("secret-value-123");
    });

    it("coalesces one revision's changes to one entry per topic, name and type", async () => {
      const s = await openSse(url("?topics=instances"), t.adminToken);
      await s.next((e) => e.event === "ready");
      const ids = Array.from({ length: 100 }, (_, i) => `web-v1-web-${i + 1}-ab${i % 10}c`);
      const res = await t.store.txn({
        success: ids.map((id) => ({
          type: "put" as const,
          key: `assignments/node-${ids.indexOf(id) % 3}/${id}`,
          value: JSON.stringify({ id, app: "web" }),
        })),
      });
      const e = await s.next(isChange);
      expect(e.data).toEqual({
        revision: res.revision,
        changes: [{ topic: "instances", name: "web", type: "put" }],
      });
      // A delete carries no record: the app comes from the instance id.
      const del = await t.store.delete({ prefix: "assignments/" });
      expect((await s.next(isChange)).data).toEqual({
        revision: del.revision,
        changes: [{ topic: "instances", name: "web", type: "delete" }],
      });
      await s.close();
    });

    it("replays from Last-Event-ID (or ?start) what was missed, once each", async () => {
      const a = await t.admin.kvPut("resume/a", "1");
      const b = await t.admin.kvPut("resume/b", "2");
      const c = await t.admin.kvDelete("resume/", { recurse: true });
      const idsUntil = async (query: string, headers: Record<string, string> = {}) => {
        const s = await openSse(url(query), t.adminToken, headers);
        const seen: number[] = [];
        while (seen.at(-1) !== c) seen.push(Number((await s.next(isChange)).id));
        await s.close();
        return seen;
      };
      expect(await idsUntil("?topics=kv", { "last-event-id": String(a) })).toEqual([b, c]);
      // Resumed: ready's id is where the replay starts from, not the current revision (a
      // reconnect before the replay arrived must not skip it).
      const r = await openSse(url("?topics=kv"), t.adminToken, { "last-event-id": String(a) });
      expect((await r.next((e) => e.event === "ready")).id).toBe(String(a));
      await r.close();
      expect(await idsUntil(`?topics=kv&start=${a}`)).toEqual([a, b, c]);
      const s = await openSse(url(`?topics=kv&start=${c}`), t.adminToken);
      expect(changes(await s.next(isChange))).toEqual([
        { topic: "kv", name: "resume/a", type: "delete" },
        { topic: "kv", name: "resume/b", type: "delete" },
      ]);
      await s.close();
    });

    it("shows a token only the names it may read; refuses topics it may not, and unknown ones", async () => {
      const web = await t.clientWith([{ resource: "app", prefix: "web-", access: "read" }]);
      const s = await openSse(url(""), web.secret); // no topics: all it may read
      await s.next((e) => e.event === "ready");
      await t.store.put("apps/api", "{}");
      await t.store.put("nodes/n2", "{}");
      await t.store.put("instances/api-v1-web-1-ab12", JSON.stringify({ app: "api" }));
      await t.store.put("instances/web-x-v1-web-1-ab12", JSON.stringify({ app: "web-x" }));
      const e = await s.next(isChange);
      expect(changes(e)).toEqual([{ topic: "instances", name: "web-x", type: "put" }]);
      await s.close();
      expect(s.events.filter(isChange)).toHaveLength(1);

      const forbidden = await fetch(url("?topics=apps,nodes"), {
        headers: { authorization: `Bearer ${web.secret}` },
      });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.text()).toContain("nodes");
      const unknown = await fetch(url("?topics=apps,bogus"), {
        headers: { authorization: `Bearer ${t.adminToken}` },
      });
      expect(unknown.status).toBe(400);
      const body = (await unknown.json()) as {
        error: { code: string; message: string; field: string };
      };
      expect(body.error.message).toContain('"bogus"');
      expect(body.error.field).toBe("topics");
      const anon = await fetch(url(""));
      expect(anon.status).toBe(401);
    });

    it("ends a stream whose token was revoked, at its next change", async () => {
      const name = `revoked-${backend}`;
      const reader = await t.clientWith([{ resource: "kv", prefix: "", access: "read" }], name);
      const s = await openSse(url("?topics=kv"), reader.secret);
      await s.next((e) => e.event === "ready");
      await t.admin.kvPut("revoke/a", "1");
      await s.next(isChange);
      const id = t.api.deps.tokens.find(name)!.id;
      await t.api.deps.tokens.revoke(id);
      // The registry follows the store by a watch: once it knows, the next change ends the stream.
      await vi.waitFor(() => expect(t.api.deps.tokens.find(name)).toBeUndefined());
      await t.admin.kvPut("revoke/a", "2");
      const e = await s.next((x) => x.event === "error");
      expect(e.data).toMatchObject({ code: "unauthorized" });
      await s.ended;
      expect(s.events.filter(isChange)).toHaveLength(1);
    });

    it("answers HEAD with the stream's headers only", async () => {
      const res = await fetch(url("?topics=kv"), {
        method: "HEAD",
        headers: { authorization: `Bearer ${t.adminToken}` },
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    });

    it("says when the start was compacted, then ends", async () => {
      const old = await t.admin.kvPut("compact/a", "1");
      await t.admin.kvPut("compact/a", "2");
      const now = (await t.store.status()).revision;
      await t.store.compact(now);
      const s = await openSse(url(`?topics=kv&start=${old}`), t.adminToken);
      const e = await s.next((x) => x.event === "error");
      expect(e.data).toMatchObject({ code: "compacted", compactRevision: now });
      await s.ended;
      expect(s.done).toBe(true);
    });

    it("ends the stream when the server closes", async () => {
      const other = await startTestApi({ store: t.store });
      const s = await openSse(`${other.url}/v1/events?topics=kv`, other.adminToken);
      await s.next((e) => e.event === "ready");
      const began = Date.now();
      await other.close();
      await s.ended;
      expect(s.done).toBe(true);
      expect(Date.now() - began).toBeLessThan(3000);
    });
  });
}

eventsSuite("embedded");
eventsSuite("etcd");
