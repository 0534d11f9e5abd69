import { describe, expect, it } from "vitest";
import { place } from "./place.js";

describe("place", () => {
  it("spreads an app's instances over the nodes, round-robin by name when all are empty", () => {
    expect(place({ nodes: ["b", "a"], app: "hello", count: 4, existing: [] })).toEqual([
      "a",
      "b",
      "a",
      "b",
    ]);
  });

  it("prefers the node with the fewest instances of this app over an emptier node", () => {
    const existing = [
      { node: "a", app: "hello" },
      { node: "b", app: "other" },
      { node: "b", app: "other" },
      { node: "b", app: "other" },
    ];
    expect(place({ nodes: ["a", "b"], app: "hello", count: 1, existing })).toEqual(["b"]);
  });

  it("breaks a tie on this app by the fewest instances overall, then by name", () => {
    const existing = [
      { node: "a", app: "other" },
      { node: "a", app: "other" },
      { node: "b", app: "other" },
    ];
    expect(place({ nodes: ["a", "b", "c"], app: "hello", count: 3, existing })).toEqual([
      "c",
      "b",
      "a",
    ]);
  });

  it("ignores instances on nodes that are gone, and places nothing without nodes", () => {
    const existing = [{ node: "dead", app: "hello" }];
    expect(place({ nodes: ["a"], app: "hello", count: 2, existing })).toEqual(["a", "a"]);
    expect(place({ nodes: [], app: "hello", count: 2, existing })).toEqual([]);
    expect(place({ nodes: ["a"], app: "hello", count: 0, existing })).toEqual([]);
  });

  it("is deterministic: the same input gives the same answer whatever the input order", () => {
    const existing = [
      { node: "n2", app: "x" },
      { node: "n1", app: "hello" },
    ];
    const one = place({ nodes: ["n1", "n2", "n3"], app: "hello", count: 5, existing });
    const two = place({
      nodes: ["n3", "n2", "n1"],
      app: "hello",
      count: 5,
      existing: [...existing].reverse(),
    });
    expect(one).toEqual(two);
    expect(one).toEqual(["n3", "n2", "n1", "n3", "n2"]);
  });
});
