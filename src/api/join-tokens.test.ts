import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../store/index.js";
import { JoinTokens } from "./join-tokens.js";

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-join-tokens-"));
  store = await openStore(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("JoinTokens on a real store", () => {
  it("stores only the secret's hash", async () => {
    const { record, secret } = await new JoinTokens(store).create({ labels: {} }, "admin");
    const kv = await store.get(`sys/join-tokens/${record.id}`);
    expect(Buffer.from(kv!.value).toString()).not.toContain(secret);
    expect(record.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ten agents racing for a 3-use token: exactly three get in, the rest are told it is used up", async () => {
    const joins = new JoinTokens(store);
    const { record, secret } = await joins.create({ uses: 3, labels: {} }, "admin");
    const results = await Promise.all(
      Array.from({ length: 10 }, () => joins.redeem(record.id, secret).catch((e: Error) => e)),
    );
    const ok = results.filter((r) => !(r instanceof Error) && "ok" in r);
    expect(ok).toHaveLength(3);
    for (const r of results.filter((x) => !ok.includes(x)))
      expect(r instanceof Error ? r.message : "refused" in r ? r.refused : "bad").toMatch(
        /used up \(3 of 3 uses\)|is busy; try again/,
      );
    expect((await joins.list()).find((t) => t.id === record.id)!.used).toBe(3);
  });

  it("a wrong secret is bad, a revoked token is refused with the time", async () => {
    const joins = new JoinTokens(store);
    const { record, secret } = await joins.create({ labels: {} }, "admin");
    expect(await joins.redeem(record.id, "wrong")).toEqual({ bad: true });
    expect(await joins.redeem("nosuch", secret)).toEqual({ bad: true });
    await joins.revoke(record.id);
    const r = await joins.redeem(record.id, secret);
    expect("refused" in r && r.refused).toMatch(/was revoked at 20/);
  });
});
