import { describe, expect, it } from "vitest";
import { LABEL, nodeLabels, nodeOf } from "./labels.js";

const spec = {
  name: "web-2",
  pool: "web",
  instance: 2,
  address: "10.100.6.2",
  credentials: { server: "http://127.0.0.1:7700", nodeToken: "secret" },
};
const createdAt = "2026-12-07T14:00:00.000Z";

describe("node labels", () => {
  it("round-trip a node through its container's labels, without its credentials", () => {
    const labels = nodeLabels(spec, createdAt);
    expect(JSON.stringify(labels)).not.toContain("secret");
    expect(nodeOf({ Id: "abc", State: "running", Labels: labels })).toEqual({
      name: "web-2",
      pool: "web",
      instance: 2,
      address: "10.100.6.2",
      state: "running",
      providerId: "abc",
      createdAt,
    });
  });

  it.each(["exited", "created", "dead", "paused", "restarting"])(
    "read state %s as stopped",
    (s) => {
      expect(nodeOf({ Id: "abc", State: s, Labels: nodeLabels(spec, createdAt) })?.state).toBe(
        "stopped",
      );
    },
  );

  it.each([
    ["no pool", { [LABEL.pool]: "" }],
    ["an instance that is not a number", { [LABEL.instance]: "web-1" }],
    ["a creation time that is not a time", { [LABEL.createdAt]: "yesterday" }],
  ])("do not make a node of a container with %s", (_, change) => {
    const labels = { ...nodeLabels(spec, createdAt), ...change };
    expect(nodeOf({ Id: "abc", State: "running", Labels: labels })).toBeUndefined();
  });

  it("do not make a node of a container without labels", () => {
    expect(nodeOf({ Id: "abc", State: "running", Labels: null })).toBeUndefined();
  });
});
