import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rawExchange, readAnswers } from "../../test/helpers/raw-client.js";
import {
  startRecordingUpstream,
  type RecordingUpstream,
} from "../../test/helpers/recording-upstream.js";
import { DEFAULT_LIMITS, type EdgeLimits } from "./limits.js";
import { startRouter, type RunningRouter } from "./router.js";
import { StaticRouteSource } from "./source.js";

// The client-side deadlines and the per-address cap, with real sockets against the real router,
// at short test-only settings (the defaults are nginx's: see docs/router.md, Hardening).

const LIMITS: EdgeLimits = {
  idleMs: 300,
  headMs: 400,
  bodyMs: 300,
  lingerMs: 300,
  maxPerClient: 4,
};

let up: RecordingUpstream;
let r: RunningRouter;

async function router(limits: Partial<EdgeLimits>): Promise<RunningRouter> {
  return startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source: new StaticRouteSource({
      apps: [{ name: "app", domains: [], instances: [{ address: "127.0.0.1", port: up.port }] }],
    }),
    log: () => undefined,
    limits,
  });
}

beforeAll(async () => {
  up = await startRecordingUpstream();
  r = await router({ ...LIMITS, maxPerClient: 0 });
});
afterAll(async () => {
  await r.close();
  await up.close();
});
beforeEach(() => up.clear());

const GET = "GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connected socket that collects what it receives and notes when the router closed it. */
async function open(port: number, localAddress = "127.0.0.1") {
  const s: Socket = connect({ port, host: "127.0.0.1", localAddress });
  const got: Buffer[] = [];
  const state = { closedAt: 0, text: () => Buffer.concat(got).toString("latin1") };
  s.on("data", (d: Buffer) => got.push(d));
  s.on("error", () => undefined);
  s.on("end", () => (state.closedAt ||= Date.now()));
  s.on("close", () => (state.closedAt ||= Date.now()));
  await new Promise<void>((resolve) => s.once("connect", () => resolve()));
  return { s, state };
}

describe("edge timeouts", () => {
  it("closes a kept-alive connection idle for idleMs, not before", async () => {
    const { s, state } = await open(r.address.port);
    // Requests 150 ms apart keep it open past idleMs in total.
    let idleFrom = 0;
    for (let i = 0; i < 4; i++) {
      s.write(GET);
      idleFrom = Date.now();
      await sleep(150);
    }
    expect(state.closedAt).toBe(0);
    expect(readAnswers(state.text())!.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    await sleep(LIMITS.idleMs + 250);
    expect(state.closedAt).toBeGreaterThan(0);
    // The sweep runs every idleMs / 4 on a clock of that grain.
    expect(state.closedAt - idleFrom).toBeGreaterThanOrEqual(LIMITS.idleMs - 100);
    s.destroy();
  });

  it("cuts a head dribbled byte by byte (slowloris) at headMs with 408, forwarding nothing", async () => {
    const head = "GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: " + "s".repeat(40) + "\r\n\r\n";
    const parts = [...head];
    const res = await rawExchange(r.address.port, parts, { gapMs: 20, waitMs: 3000 });
    expect(res.closed).toBe(true);
    expect(res.ms).toBeLessThan(parts.length * 20); // cut before the head was done
    expect(res.ms).toBeGreaterThanOrEqual(LIMITS.headMs - 50);
    const answers = readAnswers(res.data)!;
    expect(answers.map((a) => a.status)).toEqual([408]);
    expect(answers[0]!.headers["connection"]).toBe("close");
    expect(up.all()).toBe("");
  });

  it("lets a head that arrives in pieces within headMs through (the deadline is for the head, not per read)", async () => {
    const head = "GET / HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n";
    const res = await rawExchange(
      r.address.port,
      [head.slice(0, 20), head.slice(20, 40), head.slice(40)],
      {
        gapMs: 100,
      },
    );
    expect(readAnswers(res.data)!.map((a) => a.status)).toEqual([200]);
  });

  it("closes a connection that sends nothing at headMs, without an answer", async () => {
    const res = await rawExchange(r.address.port, [], { waitMs: 3000 });
    expect(res.closed).toBe(true);
    expect(res.data).toBe("");
    expect(res.ms).toBeGreaterThanOrEqual(LIMITS.headMs - 50);
    expect(res.ms).toBeLessThan(LIMITS.headMs + 500);
  });

  it("cuts a body that stalls for bodyMs with 408 and drops the upstream connection", async () => {
    const res = await rawExchange(
      r.address.port,
      ["POST / HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 10\r\n\r\nabc"],
      { waitMs: 3000 },
    );
    expect(res.closed).toBe(true);
    expect(readAnswers(res.data)!.map((a) => a.status)).toEqual([408]);
    expect(res.ms).toBeGreaterThanOrEqual(LIMITS.bodyMs - 50);
    expect(res.ms).toBeLessThan(LIMITS.bodyMs + 500);
    // The app saw the head and three bytes, never a complete message.
    expect(up.all()).toMatch(/\r\n\r\nabc$/);
    expect(up.requests).toBe(0);
  });

  it("lets a body through that keeps coming, however long it takes in all", async () => {
    const head =
      "POST / HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 8\r\nConnection: close\r\n\r\n";
    const parts = [head, ..."abcdefgh"]; // 8 reads 100 ms apart: 800 ms > bodyMs in total
    const res = await rawExchange(r.address.port, parts, { gapMs: 100 });
    expect(readAnswers(res.data)!.map((a) => a.status)).toEqual([200]);
    expect(up.requests).toBe(1);
  });

  it("closes a refused connection the client keeps open after lingerMs", async () => {
    // A client that does not close its side when the router closes its own.
    const s = connect({ port: r.address.port, host: "127.0.0.1", allowHalfOpen: true });
    const got: Buffer[] = [];
    let ended = 0;
    let gone = 0;
    s.on("data", (d: Buffer) => got.push(d));
    s.on("end", () => (ended = Date.now()));
    s.on("error", () => (gone ||= Date.now()));
    s.on("close", () => (gone ||= Date.now()));
    await new Promise<void>((resolve) => s.once("connect", () => resolve()));
    s.write("GET / HTTP/1.1\r\nHost: app.localhost\r\nX-A: a\x00b\r\n\r\n");
    await sleep(100);
    expect(readAnswers(Buffer.concat(got).toString("latin1"))!.map((a) => a.status)).toEqual([400]);
    expect(ended).toBeGreaterThan(0);
    // Still read (and dropped) while lingering...
    s.write("more");
    await sleep(100);
    expect(gone).toBe(0);
    // ...and gone once lingerMs passed: writing now fails.
    await sleep(LIMITS.lingerMs + 300);
    s.write("more");
    await sleep(50);
    s.write("more");
    await sleep(100);
    expect(gone).toBeGreaterThan(0);
    s.destroy();
  });
});

describe("connections per client address", () => {
  it("answers 429 past maxPerClient for that address only, and frees a slot when one closes", async () => {
    const capped = await router({ maxPerClient: LIMITS.maxPerClient });
    try {
      const held = [];
      for (let i = 0; i < LIMITS.maxPerClient; i++) held.push(await open(capped.address.port));
      const over = await rawExchange(capped.address.port, [GET]);
      expect(over.closed).toBe(true);
      const refused = readAnswers(over.data)!;
      expect(refused.map((a) => a.status)).toEqual([429]);
      expect(refused[0]!.body).toContain("too many connections from 127.0.0.1");
      expect(up.all()).toBe("");
      // Another address is not locked out.
      const other = await open(capped.address.port, "127.0.0.2");
      other.s.write(GET);
      await sleep(100);
      expect(readAnswers(other.state.text())!.map((a) => a.status)).toEqual([200]);
      other.s.destroy();
      // The held connections work, and closing one lets a new one in.
      held[0]!.s.write(GET);
      await sleep(100);
      expect(readAnswers(held[0]!.state.text())!.map((a) => a.status)).toEqual([200]);
      held[0]!.s.destroy();
      await sleep(100);
      const again = await rawExchange(capped.address.port, [
        "GET / HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n",
      ]);
      expect(readAnswers(again.data)!.map((a) => a.status)).toEqual([200]);
      for (const h of held) h.s.destroy();
    } finally {
      await capped.close();
    }
  });

  it("has nginx's timeouts by default and a cap of 256", () => {
    expect(DEFAULT_LIMITS).toEqual({
      idleMs: 75_000,
      headMs: 60_000,
      bodyMs: 60_000,
      maxPerClient: 256,
      lingerMs: 5_000,
    });
  });
});
