import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LogLine } from "../../client/agent-work.js";
import { ApiError, ConnectError } from "../../client/errors.js";
import { LAST_LINES, LogShipper, OutputTail } from "./logs.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content = ""): string => {
  const f = join(dir, `out-${++n}.log`);
  writeFileSync(f, content);
  return f;
};

describe("OutputTail", () => {
  it("hands on whole lines, keeps a partial one until it is finished or drained", async () => {
    const f = file("one\ntw");
    const lines: string[] = [];
    const tail = new OutputTail(f, { onLine: (l) => lines.push(l) });
    await tail.drain();
    expect(lines).toEqual(["one", "tw"]);
    appendFileSync(f, "three\r\nfour\n");
    await tail.drain();
    expect(lines).toEqual(["one", "tw", "three", "four"]);
  });

  it("does not split a character cut between two reads", async () => {
    const f = file();
    const lines: string[] = [];
    const tail = new OutputTail(f, { onLine: (l) => lines.push(l) });
    const bytes = Buffer.from("héllo\n");
    appendFileSync(f, bytes.subarray(0, 2));
    await tail.drain().catch(() => undefined);
    appendFileSync(f, bytes.subarray(2));
    await tail.drain();
    expect(lines.join("")).toBe("héllo");
  });

  it("keeps the last lines and resumes from an offset", async () => {
    const f = file(Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(""));
    const tail = new OutputTail(f, { onLine: () => undefined });
    await tail.drain();
    expect(tail.lastLines()).toHaveLength(LAST_LINES);
    expect(tail.lastLines().at(-1)).toBe("line 29");
    appendFileSync(f, "after\n");
    const later: string[] = [];
    const resumed = new OutputTail(f, { offset: tail.offset, onLine: (l) => later.push(l) });
    await resumed.drain();
    expect(later).toEqual(["after"]);
  });

  it("follows the file while started, and starts over when it is truncated", async () => {
    const f = file("first\n");
    const lines: string[] = [];
    const tail = new OutputTail(f, { onLine: (l) => lines.push(l), pollMs: 20 });
    tail.start();
    try {
      await expect.poll(() => lines).toEqual(["first"]);
      // Noticed when the file is shorter than what was read (as copy-truncate leaves it).
      truncateSync(f, 0);
      appendFileSync(f, "b\n");
      await expect.poll(() => lines).toEqual(["first", "b"]);
    } finally {
      tail.stop();
    }
  });

  it("is woken by changes to the file, not by its poll", async () => {
    const f = file("a\n");
    const lines: string[] = [];
    // A poll this slow never fires during the test: only inotify can bring the lines.
    const tail = new OutputTail(f, { onLine: (l) => lines.push(l), pollMs: 600_000 });
    tail.start();
    try {
      await expect.poll(() => lines).toEqual(["a"]);
      appendFileSync(f, "b\n");
      await expect.poll(() => lines).toEqual(["a", "b"]);
      appendFileSync(f, "c\nd\n");
      await expect.poll(() => lines).toEqual(["a", "b", "c", "d"]);
    } finally {
      tail.stop();
    }
  });

  it("finds a file that appears after it started, then follows it", async () => {
    const f = join(dir, `late-${++n}.log`);
    const lines: string[] = [];
    const tail = new OutputTail(f, { onLine: (l) => lines.push(l) });
    tail.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(f, "here\n");
      await expect.poll(() => lines).toEqual(["here"]);
      appendFileSync(f, "more\n");
      await expect.poll(() => lines).toEqual(["here", "more"]);
    } finally {
      tail.stop();
    }
  });

  it("rotates a file past its bound once it is read", async () => {
    const f = file("x".repeat(100) + "\n");
    const tail = new OutputTail(f, { onLine: () => undefined, maxBytes: 50 });
    await tail.drain();
    expect(readFileSync(`${f}.1`, "utf8")).toBe("x".repeat(100) + "\n");
    expect(readFileSync(f, "utf8")).toBe("");
    expect(tail.offset).toBe(0);
  });
});

describe("LogShipper", () => {
  const sink = () => {
    const sent: { app: string; lines: LogLine[] }[] = [];
    let fail: Error | undefined;
    return {
      sent,
      failWith: (e: Error | undefined) => (fail = e),
      send: async (app: string, lines: LogLine[]) => {
        if (fail) throw fail;
        sent.push({ app, lines });
      },
    };
  };

  it("sends one batch per app, in order, with time and source", async () => {
    const s = sink();
    const shipper = new LogShipper({ send: s.send, log: () => undefined });
    shipper.push("a", "web.1", "one");
    shipper.push("b", "web.1", "other");
    shipper.push("a", "web.2", "two");
    await shipper.flush();
    expect(s.sent.map((b) => [b.app, b.lines.map((l) => `${l.source} ${l.line}`)])).toEqual([
      ["a", ["web.1 one", "web.2 two"]],
      ["b", ["web.1 other"]],
    ]);
    expect(Date.parse(s.sent[0]!.lines[0]!.time)).toBeGreaterThan(0);
    expect(shipper.queued).toBe(0);
  });

  it("keeps the newest lines while the server is away, then says how many were dropped", async () => {
    const s = sink();
    const logs: string[] = [];
    const shipper = new LogShipper({ send: s.send, log: (l) => logs.push(l), maxQueued: 5 });
    s.failWith(new ConnectError("http://127.0.0.1:1"));
    for (let i = 1; i <= 8; i++) shipper.push("a", "web.1", `l${i}`);
    await shipper.flush();
    expect(shipper.queued).toBe(5);
    expect(logs.filter((l) => l.includes("cannot ship logs"))).toHaveLength(1);
    shipper.push("a", "web.1", "l9");
    expect(shipper.queued).toBe(5);
    s.failWith(undefined);
    await shipper.flush();
    expect(s.sent[0]!.lines.map((l) => l.line)).toEqual([
      "[gantry] 4 lines of output were dropped: the control plane could not take them",
      "l5",
      "l6",
      "l7",
      "l8",
      "l9",
    ]);
    await shipper.flush();
    shipper.push("a", "web.1", "l10");
    await shipper.flush();
    expect(s.sent[1]!.lines.map((l) => l.line)).toEqual(["l10"]); // said once
    expect(logs.some((l) => l.includes("shipping logs again"))).toBe(true);
  });

  it("drops lines the server refuses (an app that is gone) instead of retrying them forever", async () => {
    const s = sink();
    const logs: string[] = [];
    const shipper = new LogShipper({ send: s.send, log: (l) => logs.push(l) });
    s.failWith(new ApiError(404, "not_found", 'app "gone" not found'));
    shipper.push("gone", "web.1", "x");
    await shipper.flush();
    expect(shipper.queued).toBe(0);
    expect(logs[0]).toMatch(/dropped 1 log lines of gone/);
  });

  it("sends on its own once started, and flushes on stop", async () => {
    const s = sink();
    const shipper = new LogShipper({ send: s.send, log: () => undefined, flushMs: 20 });
    shipper.start();
    shipper.push("a", "web.1", "tick");
    await expect.poll(() => s.sent.length).toBe(1);
    shipper.push("a", "web.1", "last");
    await shipper.stop(1000);
    expect(s.sent.flatMap((b) => b.lines.map((l) => l.line))).toEqual(["tick", "last"]);
  });
});
