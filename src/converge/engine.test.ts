import { describe, expect, it } from "vitest";
import { fakeFacts, fakeSystem, fakeTypes, type FakeSystem } from "./fake-types.js";
import { runJob } from "./run.js";
import type { ControlPlane, ConvergeEvent, Job, Report } from "./types.js";

const lines = (...l: string[]): string => l.join("\n") + "\n";

function converge(
  sys: FakeSystem,
  files: Record<string, string>,
  more: Partial<Job> & { controlPlane?: ControlPlane; events?: ConvergeEvent[] } = {},
): Promise<Report> {
  const { controlPlane, events, ...job } = more;
  return runJob(
    {
      files,
      roles: [],
      states: ["web"],
      nodeVars: {},
      extraVars: {},
      labels: {},
      check: false,
      host: "node-1",
      ...job,
    },
    {
      types: fakeTypes(sys),
      facts: fakeFacts,
      ...(controlPlane === undefined ? {} : { controlPlane }),
      onEvent: (e) => events?.push(e),
    },
  );
}

const statuses = (r: Report): string[] => r.resources.map((x) => `${x.id} ${x.status}`);

describe("engine", () => {
  it("applies what differs, and a second run changes nothing", async () => {
    const sys = fakeSystem();
    const files = {
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: one",
        "  - mem: b",
        "    value: two",
      ),
    };
    sys.values.set("b", "old");
    const first = await converge(sys, files);
    expect(first.summary).toEqual({ ok: 0, changed: 2, failed: 0, skipped: 0 });
    expect(first.resources[1]).toMatchObject({
      id: "mem:b",
      status: "changed",
      changes: ["value old → two"],
      diff: "-old\n+two\n",
      state: "web",
      handler: false,
    });
    expect(sys.values.get("a")).toBe("one");
    const second = await converge(sys, files);
    expect(second.summary).toEqual({ ok: 2, changed: 0, failed: 0, skipped: 0 });
  });

  it("skips what requires a failure and still runs what is independent", async () => {
    const sys = fakeSystem();
    const report = await converge(sys, {
      "web.yaml": lines(
        "resources:",
        "  - mem: bad",
        "    value: x",
        "    fail: true",
        "  - mem: dependent",
        "    value: x",
        "    require: [mem:bad]",
        "  - mem: transitive",
        "    value: x",
        "    require: [mem:dependent]",
        "  - mem: independent",
        "    value: x",
      ),
    });
    expect(statuses(report)).toEqual([
      "mem:bad failed",
      "mem:dependent skipped",
      "mem:transitive skipped",
      "mem:independent changed",
    ]);
    expect(report.resources[0]!.message).toBe("could not write x");
    expect(report.resources[1]!.message).toBe("requires mem:bad, which did not succeed");
    expect(report.resources[2]!.message).toBe("requires mem:dependent, which did not succeed");
    expect(report.summary).toEqual({ ok: 0, changed: 1, failed: 1, skipped: 2 });
  });

  it("runs onChanges steps only after a change", async () => {
    const sys = fakeSystem();
    const files = {
      "web.yaml": lines(
        "resources:",
        "  - mem: conf",
        "    value: v1",
        "  - run: reload",
        "    onChanges: [mem:conf]",
      ),
    };
    expect(statuses(await converge(sys, files))).toEqual([
      "mem:conf changed",
      "run:reload changed",
    ]);
    const again = await converge(sys, files);
    expect(statuses(again)).toEqual(["mem:conf ok", "run:reload skipped"]);
    expect(again.resources[1]!.message).toBe("no change in mem:conf");
    expect(sys.applied).toEqual(["mem:conf", "run:reload"]);
  });

  it("runs handlers once, at the end, in the order first notified — also after a failure", async () => {
    const sys = fakeSystem();
    const report = await converge(sys, {
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    notify: [second]",
        "  - mem: b",
        "    value: x",
        "    notify: [first, second]",
        "  - mem: broken",
        "    value: x",
        "    fail: true",
        "  - mem: c",
        "    value: x",
        "    notify: [first]",
        "handlers:",
        "  - run: first",
        "  - run: never",
        "  - run: second",
      ),
    });
    expect(sys.applied).toEqual([
      "mem:a",
      "mem:b",
      "mem:broken",
      "mem:c",
      "run:second",
      "run:first",
    ]);
    expect(statuses(report)).toEqual([
      "mem:a changed",
      "mem:b changed",
      "mem:broken failed",
      "mem:c changed",
      "run:second changed",
      "run:first changed",
    ]);
    expect(report.resources.filter((r) => r.handler).map((r) => r.name)).toEqual([
      "second",
      "first",
    ]);
  });

  it("does not notify handlers of what did not change", async () => {
    const sys = fakeSystem();
    sys.values.set("a", "x");
    const report = await converge(sys, {
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    notify: [h]",
        "handlers:",
        "  - run: h",
      ),
    });
    expect(statuses(report)).toEqual(["mem:a ok"]);
    expect(sys.applied).toEqual([]);
  });

  it("in check mode changes nothing and reports what an apply would change", async () => {
    const sys = fakeSystem();
    sys.values.set("same", "v");
    sys.values.set("drifted", "old");
    const files = {
      "web.yaml": lines(
        "resources:",
        "  - mem: same",
        "    value: v",
        "  - mem: drifted",
        "    value: new",
        "    notify: [restart]",
        "  - mem: missing",
        "    value: v",
        "  - run: after",
        "    onChanges: [mem:same]",
        "handlers:",
        "  - run: restart",
      ),
    };
    const check = await converge(sys, files, { check: true });
    expect(check.check).toBe(true);
    expect(sys.applied).toEqual([]);
    expect([...sys.values]).toEqual([
      ["same", "v"],
      ["drifted", "old"],
    ]);
    expect(statuses(check)).toEqual([
      "mem:same ok",
      "mem:drifted changed",
      "mem:missing changed",
      "run:after skipped",
      "run:restart changed",
    ]);
    expect(check.resources[1]).toMatchObject({
      changes: ["value old → new"],
      diff: "-old\n+new\n",
    });
    expect(check.resources[4]).toMatchObject({ handler: true, changes: ["run restart"] });

    const apply = await converge(sys, files);
    expect(statuses(apply)).toEqual(statuses(check));
    expect(sys.applied).toEqual(["mem:drifted", "mem:missing", "run:restart"]);
  });

  it("redacts secret vars and secret() values everywhere", async () => {
    const sys = fakeSystem();
    sys.values.set("conf", "password=hunter2-old");
    const events: ConvergeEvent[] = [];
    const cp: ControlPlane = {
      key: async () => undefined,
      service: async () => [],
      secret: async () => "TOPSECRET",
      waitFor: async () => {},
      once: async (_s, fn) => (await fn(), true),
    };
    const report = await converge(
      sys,
      {
        "web.yaml": lines(
          "secretVars: [password]",
          "resources:",
          "  - mem: conf",
          '    value: "password={{ password }}"',
          "  - mem: api",
          "    source: api.j2",
          "  - mem: 'fail-{{ password }}'",
          '    value: "{{ password }}"',
          "    fail: true",
        ),
        "api.j2": "token={{ secret('shop', 'TOKEN') }}\n",
      },
      { extraVars: { password: "hunter2" }, controlPlane: cp, events },
    );
    expect(sys.values.get("conf")).toBe("password=hunter2"); // the system gets the real value
    expect(sys.values.get("api")).toBe("token=TOPSECRET\n");
    const everything = JSON.stringify({ report, events });
    expect(everything).not.toContain("hunter2");
    expect(everything).not.toContain("TOPSECRET");
    expect(report.resources[0]!.changes).toEqual([
      "value password=[secret]-old → password=[secret]",
    ]);
    expect(report.resources[1]!.diff).toBe("-\n+token=[secret]\n\n");
    expect(report.resources[2]).toMatchObject({
      id: "mem:fail-[secret]",
      message: "could not write [secret]",
    });
    expect(events.some((e) => e.kind === "log" && e.line.includes("[secret]"))).toBe(true);
  });

  it("hides the diff of a secret resource", async () => {
    const sys = fakeSystem();
    const report = await converge(sys, {
      "web.yaml": lines("resources:", "  - mem: key", "    value: abc", "    secret: true"),
    });
    expect(report.resources[0]!.diff).toBe("(diff hidden: the resource is secret)\n");
  });

  it("streams start, resource and done events", async () => {
    const sys = fakeSystem();
    const events: ConvergeEvent[] = [];
    await converge(
      sys,
      { "web.yaml": lines("resources:", "  - mem: a", "    value: x") },
      { events },
    );
    expect(events.map((e) => e.kind)).toEqual(["start", "log", "resource", "done"]);
    expect(events[0]).toEqual({ kind: "start", host: "node-1", steps: 1, check: false });
  });

  it("fails waitFor without a control plane, and waits and locks with one", async () => {
    const sys = fakeSystem();
    const files = {
      "web.yaml": lines(
        "resources:",
        "  - mem: replica",
        "    value: x",
        '    waitFor: { key: db/primary, timeout: "5s" }',
        "  - run: migrate",
        "    runOnce: true",
      ),
    };
    const alone = await converge(sys, files);
    expect(alone.resources[0]).toMatchObject({
      status: "failed",
      message: "waitFor needs a control plane (run by an agent)",
    });
    const calls: string[] = [];
    const cp: ControlPlane = {
      key: async () => undefined,
      service: async () => [],
      secret: async () => undefined,
      waitFor: async (target, timeoutMs) =>
        void calls.push(`wait ${JSON.stringify(target)} ${timeoutMs}`),
      once: async (scope) => (calls.push(`once ${scope}`), false),
    };
    const withCp = await converge(fakeSystem(), files, { controlPlane: cp });
    expect(calls).toEqual([
      'wait {"key":"db/primary"} 5000',
      expect.stringMatching(/^once web\/run:migrate\/[0-9a-f]{12}$/),
    ]);
    expect(statuses(withCp)).toEqual(["mem:replica changed", "run:migrate skipped"]);
  });

  it("inspects adjacent batchable resources together", async () => {
    const sys = fakeSystem();
    const report = await converge(sys, {
      "web.yaml": lines(
        "resources:",
        "  - pkg: curl",
        "  - pkg: git",
        "  - pkg: jq",
        "  - mem: x",
        "    value: y",
        "  - pkg: vim",
      ),
    });
    expect(sys.batches).toEqual([3]);
    expect(report.summary.changed).toBe(5);
    expect(sys.applied).toEqual(["pkg:curl", "pkg:git", "pkg:jq", "mem:x", "pkg:vim"]);
  });

  it("throws a StateError and sends an error event before anything changes", async () => {
    const sys = fakeSystem();
    const events: ConvergeEvent[] = [];
    const files = {
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "  - mem: b",
        "    value: x",
        "    require: [nope]",
      ),
    };
    await expect(converge(sys, files, { events })).rejects.toThrow(
      'web.yaml:4: require[0]: no resource "nope"',
    );
    expect(sys.applied).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "error", code: "invalid_state" });
  });
});
