import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BuildTrace, decodeStatus } from "./docker-trace.js";
import { readFields, WireError } from "./protowire.js";

/** Lines captured from this machine's engine (test/fixtures/buildkit/README.md). */
const fixture = (name: string): string[] =>
  readFileSync(
    new URL(`../../test/fixtures/buildkit/${name}.jsonl`, import.meta.url),
    "utf8",
  ).split("\n");

function replay(name: string): { lines: string[]; trace: BuildTrace } {
  const lines: string[] = [];
  const trace = new BuildTrace((l) => lines.push(l));
  for (const l of fixture(name)) trace.line(l);
  trace.end();
  return { lines, trace };
}

describe("BuildKit trace decoding", () => {
  it("decodes a StatusResponse's vertexes: digest, name, times, cached", () => {
    const first = JSON.parse(fixture("build-cached")[3]!) as { aux: string };
    const st = decodeStatus(first.aux);
    expect(st.vertexes[0]).toMatchObject({
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      name: "[internal] load remote build context",
      started: expect.any(Number),
      completed: expect.any(Number),
    });
    // Times are real epoch milliseconds (December 2026, when the fixture was captured).
    expect(new Date(st.vertexes[0]!.started!).getUTCFullYear()).toBe(2026);
  });

  it("turns a build into plain-progress lines: steps, their output, DONE with the time", () => {
    const { lines, trace } = replay("build-ok");
    const copy = lines.findIndex((l) => /^#\d+ \[3\/4\] COPY \. \/app$/.test(l));
    expect(copy).toBeGreaterThan(0);
    const n = lines[copy]!.split(" ")[0]!;
    expect(lines.slice(copy + 1)).toContain(`${n} DONE 0.0s`);
    const run = lines.find((l) => l.includes("[4/4] RUN echo hello from the build"))!;
    const r = run.split(" ")[0]!;
    expect(lines).toContain(`${r} hello from the build`);
    expect(lines).toContain(`${r} Dockerfile server.js stamp.txt`);
    expect(lines.some((l) => new RegExp(`^${r} DONE \\d+\\.\\ds$`).test(l))).toBe(true);
    expect(trace.outcome).toEqual({ imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    // Each step is announced once.
    const heads = lines.filter((l) => /^#\d+ \[/.test(l));
    expect(new Set(heads).size).toBe(heads.length);
  });

  it("says CACHED for steps the cache had", () => {
    const { lines } = replay("build-cached");
    const run = lines.find((l) => l.includes("[4/4] RUN"))!;
    const next = lines[lines.indexOf(run) + 1];
    expect(next).toBe(`${run.split(" ")[0]} CACHED`);
    expect(lines.some((l) => l.endsWith("hello from the build"))).toBe(false);
  });

  it("names the failing step, shows its output and the engine's error", () => {
    const { lines, trace } = replay("build-failed");
    const step = "[2/2] RUN echo about to fail && exit 3";
    expect(trace.outcome.failedStep).toBe(step);
    expect(trace.outcome.error).toBe(
      "executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3",
    );
    const head = lines.find((l) => l.endsWith(step))!;
    const n = head.split(" ")[0]!;
    expect(lines).toContain(`${n} about to fail`);
    expect(lines).toContain(
      `${n} ERROR: executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3`,
    );
    expect(trace.outcome.imageId).toBeUndefined();
  });

  it("keeps output without a newline until the step ends", () => {
    const lines: string[] = [];
    const t = new BuildTrace((l) => lines.push(l));
    // Vertex "v" started, then two log chunks that split a line, then completed.
    const vertex = (extra: number[]): number[] => {
      const digest = [...Buffer.from("v")];
      const name = [...Buffer.from("[1/1] RUN x")];
      const started = [0x08, 0x01];
      const body = [
        0x0a,
        digest.length,
        ...digest,
        0x1a,
        name.length,
        ...name,
        0x2a,
        started.length,
        ...started,
        ...extra,
      ];
      return [0x0a, body.length, ...body];
    };
    const log = (text: string): number[] => {
      const msg = [...Buffer.from(text)];
      const body = [0x0a, 1, ...Buffer.from("v"), 0x22, msg.length, ...msg];
      return [0x1a, body.length, ...body];
    };
    const send = (bytes: number[]): void =>
      t.line(
        JSON.stringify({ id: "moby.buildkit.trace", aux: Buffer.from(bytes).toString("base64") }),
      );
    send(vertex([]));
    send(log("hel"));
    send(log("lo\nwor"));
    send(vertex([0x32, 0x02, 0x08, 0x03]));
    expect(lines).toEqual(["#1 [1/1] RUN x", "#1 hello", "#1 wor", "#1 DONE 2.0s"]);
  });

  it("refuses a message cut short instead of reading past its end", () => {
    expect(() => readFields(Uint8Array.from([0x0a, 0x05, 0x61]))).toThrow(WireError);
    expect(() => readFields(Uint8Array.from([0x08, 0x80]))).toThrow(WireError);
  });
});
