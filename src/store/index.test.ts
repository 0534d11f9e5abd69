import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { parseEtcdEndpoints } from "./index.js";
import { inRange, prefixEnd, toByteRange } from "./keys.js";

describe("store locations", () => {
  it("parses etcd endpoints", () => {
    expect(parseEtcdEndpoints("etcd://127.0.0.1:2379,localhost:32379")).toEqual([
      "http://127.0.0.1:2379",
      "http://localhost:32379",
    ]);
  });

  it("names the bad endpoint", () => {
    expect(() => parseEtcdEndpoints("etcd://127.0.0.1:2379,nope")).toThrow(
      /"nope" is not HOST:PORT/,
    );
    expect(() => parseEtcdEndpoints("etcd://h:70000")).toThrow(ValidationError);
  });
});

describe("key ranges", () => {
  it("computes the end of a prefix in bytes", () => {
    expect(prefixEnd(Buffer.from("abc")).toString()).toBe("abd");
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect(prefixEnd(Buffer.from([0xff, 0xff])).length).toBe(0);
  });

  it("matches keys against ranges by bytes", () => {
    const r = toByteRange({ prefix: "app/" });
    expect(inRange(Buffer.from("app/x"), r)).toBe(true);
    expect(inRange(Buffer.from("app0"), r)).toBe(false);
    expect(inRange(Buffer.from("anything"), toByteRange({ prefix: "" }))).toBe(true);
    expect(inRange(Buffer.from("b"), toByteRange({ key: "a", end: "b" }))).toBe(false);
    expect(inRange(Buffer.from("zzz"), toByteRange({ fromKey: "m" }))).toBe(true);
    expect(inRange(Buffer.from("k"), toByteRange("k"))).toBe(true);
  });

  it("rejects malformed ranges naming the field", () => {
    expect(() => toByteRange("")).toThrow(ValidationError);
    expect(() => toByteRange({ nope: 1 } as never)).toThrow(/must be a key/);
    const err = (() => {
      try {
        toByteRange({ prefix: 5 } as never, "range");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("range.prefix");
  });
});
