import { describe, expect, it } from "vitest";
import { parseSize } from "./images-bake.js";

describe("parseSize (--min-free)", () => {
  it("reads decimal sizes", () => {
    expect(parseSize("2GB")).toBe(2e9);
    expect(parseSize("500mb")).toBe(5e8);
    expect(parseSize("1.5 GB")).toBe(1.5e9);
    expect(parseSize("0")).toBe(0);
  });

  it("refuses anything else, naming the flag", () => {
    expect(() => parseSize("lots")).toThrow(/--min-free must be a size like 2GB/);
    expect(() => parseSize("-1GB")).toThrow(/--min-free/);
  });
});
