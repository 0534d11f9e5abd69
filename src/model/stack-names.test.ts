import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isItemName, ItemNameSchema } from "./stack-names.js";

describe("isItemName", () => {
  it("says exactly what ItemNameSchema says", () => {
    for (const name of [
      "a",
      "shop/config/port",
      "",
      "x".repeat(1024),
      "x".repeat(1025),
      "a\nb",
      "\u007f",
      "é ü/日本",
    ])
      expect(isItemName(name)).toBe(ItemNameSchema.safeParse(name).success);
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 1100 }), fc.string({ unit: "binary", maxLength: 40 })),
        (name) => {
          expect(isItemName(name)).toBe(ItemNameSchema.safeParse(name).success);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
