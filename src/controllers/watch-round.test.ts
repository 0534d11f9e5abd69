import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../store/index.js";
import { watchRound } from "./watch-round.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-watch-round-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("watchRound", () => {
  it("ends when its controller stops, also a stop that came while the watches were opening", async () => {
    const store = await openStore(join(dir, "store"));
    try {
      const abort = new AbortController();
      const cancels: (() => void)[] = [];
      // The stop comes before the round has any cancel to call (as a server stopped at once).
      const round = watchRound({
        store,
        prefixes: ["a/", "b/"],
        cancels,
        signal: abort.signal,
        opened: () => undefined,
        onBatch: () => undefined,
      });
      for (const cancel of cancels) cancel();
      abort.abort();
      const ended = await Promise.race([
        round.then(() => "ended"),
        new Promise((r) => setTimeout(() => r("still watching"), 2000)),
      ]);
      expect(ended).toBe("ended");

      // A stop during the round ends it too.
      const live = new AbortController();
      let opened!: () => void;
      const isOpen = new Promise<void>((r) => (opened = r));
      const second = watchRound({
        store,
        prefixes: ["a/"],
        cancels: [],
        signal: live.signal,
        opened: () => opened(),
        onBatch: () => undefined,
      });
      await isOpen;
      live.abort();
      expect(
        await Promise.race([
          second.then(() => "ended"),
          new Promise((r) => setTimeout(() => r("still watching"), 2000)),
        ]),
      ).toBe("ended");
    } finally {
      await store.close();
    }
  });
});
