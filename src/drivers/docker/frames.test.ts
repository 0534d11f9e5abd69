import { describe, expect, it } from "vitest";
import { alreadyCopied, FrameParser, splitTimestamp, type LogCursor } from "./frames.js";

const frame = (stream: number, text: string): Buffer => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe("FrameParser", () => {
  it("splits payloads whatever the chunk boundaries", () => {
    const all = Buffer.concat([frame(1, "one\n"), frame(2, "two\n"), frame(1, "three")]);
    for (let cut = 1; cut < all.length; cut++) {
      const p = new FrameParser();
      const got = [...p.push(all.subarray(0, cut)), ...p.push(all.subarray(cut))];
      expect(got.map(String)).toEqual(["one\n", "two\n", "three"]);
    }
  });
});

describe("log cursor", () => {
  const msg = (time: string, text: string) =>
    splitTimestamp(Buffer.from(`2024-05-01T12:00:${time}Z ${text}`))!;

  it("splits the time off a message", () => {
    const m = msg("01.000000001", "hello world\n");
    expect(m.time).toBe("2024-05-01T12:00:01.000000001Z");
    expect(String(m.text)).toBe("hello world\n");
    expect(splitTimestamp(Buffer.from("no time here"))).toBeUndefined();
  });

  it("resumes after what was copied, also among messages with the same time", () => {
    const stream = [
      msg("01.000000000", "a\n"),
      msg("02.000000000", "b\n"),
      msg("02.000000000", "c\n"),
      msg("03.000000000", "d\n"),
    ];
    // A first copier wrote a, b (two of them), then stopped.
    const first: LogCursor = { container: "x", time: "", seen: 0 };
    const none = { left: 0 };
    const copied = stream.slice(0, 2).filter((m) => !alreadyCopied(first, m, none));
    expect(copied.map(String)).toHaveLength(2);
    // The next copier reads the whole stream again (since whole seconds) from its cursor.
    const cursor = { ...first };
    const skip = { left: cursor.seen };
    const rest = stream.filter((m) => !alreadyCopied(cursor, m, skip)).map((m) => String(m.text));
    expect(rest).toEqual(["c\n", "d\n"]);
  });
});
