import { describe, expect, it } from "vitest";
import type Docker from "dockerode";
import type { Report, ResourceResult } from "../converge/types.js";
import { EXIT_NO_NODE } from "./container.js";
import { failure } from "./failure.js";

const result = (
  id: string,
  status: ResourceResult["status"],
  message?: string,
): ResourceResult => ({
  id,
  type: id.split(":")[0]!,
  name: id.split(":")[1]!,
  state: "web",
  handler: false,
  status,
  changes: [],
  durationMs: 1,
  ...(message === undefined ? {} : { message }),
});

const report = (resources: ResourceResult[]): Report => ({
  host: "bake-web",
  check: false,
  summary: {
    ok: 0,
    changed: 0,
    failed: resources.filter((r) => r.status === "failed").length,
    skipped: 0,
  },
  resources,
  startedAt: new Date(0).toISOString(),
  durationMs: 1,
});

const outcome = (o: {
  exitCode: number;
  report?: Report;
  stderr?: string[];
  error?: { message: string; code: string };
}) => ({
  container: {} as Docker.Container,
  exitCode: o.exitCode,
  report: o.report,
  error: o.error,
  stderr: o.stderr ?? [],
});

describe("failure", () => {
  it("names every failed resource and why", () => {
    const err = failure(
      outcome({
        exitCode: 2,
        report: report([result("file:/a", "ok"), result("exec:x", "failed", "exit code 3")]),
      }),
      false,
    );
    expect(err.code).toBe("bake_failed");
    expect(err.message).toBe("the bake failed, no image was made: exec:x: exit code 3");
    expect(err.report?.resources).toHaveLength(2);
  });

  it("says the image has no node, with the script's own reason", () => {
    const err = failure(
      outcome({
        exitCode: EXIT_NO_NODE,
        stderr: ["gantry: the image's node v18.1.0 is too old (a bake needs node >= 20)"],
      }),
      false,
    );
    expect(err.code).toBe("bake_no_node");
    expect(err.message).toContain("v18.1.0 is too old");
  });

  it("passes on the runner's error, and the tail of stderr when there is nothing else", () => {
    expect(
      failure(
        outcome({ exitCode: 1, error: { message: "web.yaml:3: bad", code: "invalid_state" } }),
        false,
      ).message,
    ).toContain("web.yaml:3: bad");
    const odd = failure(outcome({ exitCode: 139, stderr: ["Segmentation fault"] }), false);
    expect(odd.code).toBe("bake_runner_failed");
    expect(odd.message).toContain("exited 139");
    expect(odd.message).toContain("Segmentation fault");
  });

  it("calls an interrupted bake interrupted, whatever it left", () => {
    expect(failure(outcome({ exitCode: 137 }), true).code).toBe("bake_interrupted");
  });
});
