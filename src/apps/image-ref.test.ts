import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { formatImageRef, parseImageRef, repositoryOf } from "./image-ref.js";

const D = `sha256:${"0a".repeat(32)}`;

describe("parseImageRef", () => {
  it("reads host, path, tag and digest the way the engine does", () => {
    expect(parseImageRef("127.0.0.1:5000/hello:v1")).toEqual({
      host: "127.0.0.1:5000",
      path: "hello",
      tag: "v1",
    });
    expect(parseImageRef(`registry.example.com/team/api@${D}`)).toEqual({
      host: "registry.example.com",
      path: "team/api",
      digest: D,
    });
    expect(parseImageRef(`localhost/x:1@${D}`)).toEqual({
      host: "localhost",
      path: "x",
      tag: "1",
      digest: D,
    });
    // No dot, colon or localhost: the first part is a path component, not a host.
    expect(parseImageRef("gantry/base:abc")).toEqual({ path: "gantry/base", tag: "abc" });
    expect(parseImageRef("hello")).toEqual({ path: "hello" });
  });

  it("round-trips and names the repository", () => {
    for (const ref of ["127.0.0.1:5000/hello:v1", `a/b@${D}`, "x"])
      expect(formatImageRef(parseImageRef(ref))).toBe(ref);
    expect(repositoryOf(parseImageRef("127.0.0.1:5000/hello:v1"))).toBe("127.0.0.1:5000/hello");
  });

  it("refuses bad references with field image", () => {
    for (const ref of ["", "Hello", "hello@sha256:abc", "hello:bad tag", "a//b", "hello:"]) {
      let err: unknown;
      try {
        parseImageRef(ref);
      } catch (e) {
        err = e;
      }
      expect(err, ref).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe("image");
    }
  });
});
