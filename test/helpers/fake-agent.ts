/**
 * A stand-in for the node agent in tests of the deploy controller and the apps CLI: it watches
 * assignments and writes what an agent would — instance status, catalog entry, health result —
 * behaving as the test asks per release: pass, crash, or never pass. One-offs run "instantly":
 * their output goes to the app's log and their status says they exited.
 */
import { instanceKey } from "../../src/apps/keys.js";
import { AssignmentSchema, type Assignment } from "../../src/model/app.js";
import { text, type Store } from "../../src/store/index.js";

/**
 * How a release's instances behave: pass at once, crash for good, never pass their check, or
 * crash once (the agent restarts them a second later) and then pass.
 */
export type Behaviour = "pass" | "crash" | "never" | "crash-once";

export interface OneoffResult {
  output: string[];
  exitCode: number;
}

/** The fake agent: what it did, in order, and how each release's instances behave. */
export class FakeAgent {
  readonly timeline: string[] = [];
  behaviour = new Map<number, Behaviour>();
  private readonly watch;
  private readonly done: Promise<void>;

  constructor(
    private readonly store: Store,
    /** What a one-off prints and exits with; its output is handed to `log`. */
    private readonly oneoff: (a: Assignment) => OneoffResult = () => ({ output: [], exitCode: 0 }),
    private readonly log: (app: string, source: string, lines: string[]) => void = () => undefined,
  ) {
    this.watch = store.watch({ prefix: "assignments/" }, { prevKv: true });
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for await (const batch of this.watch) {
      for (const e of batch) {
        if (e.type === "delete") {
          const a = AssignmentSchema.parse(JSON.parse(text(e.prevKv!.value)));
          this.timeline.push(`stop ${a.processType}.${a.index}@v${a.release}`);
          await this.store.delete({ prefix: `catalog/${a.app}/${a.id}` });
          await this.store.delete({ prefix: `health/${a.app}/${a.id}/` });
          await this.store.delete(instanceKey(a.id));
          continue;
        }
        const a = AssignmentSchema.parse(JSON.parse(text(e.kv.value)));
        if (e.kv.version > 1) {
          if (a.desired === "draining") {
            this.timeline.push(`drain ${a.processType}.${a.index}@v${a.release}`);
            await this.store.delete(`catalog/${a.app}/${a.id}`);
          }
          continue;
        }
        this.timeline.push(`start ${a.processType}.${a.index}@v${a.release}`);
        if (a.kind === "oneoff") await this.runOneoff(a);
        else await this.start(a, this.behaviour.get(a.release) ?? "pass");
      }
    }
  }

  private async start(a: Assignment, how: Behaviour): Promise<void> {
    if (how === "crash-once") {
      await this.putInstance(a, {
        state: "crashed",
        restarts: 1,
        exitCode: 1,
        lastOutput: ["Error: listen EADDRINUSE: address already in use :::5001"],
        updatedAt: new Date().toISOString(),
        restartAt: new Date(Date.now() + 1000).toISOString(),
      });
      await new Promise((r) => setTimeout(r, 1000));
      how = "pass";
    }
    const now = new Date().toISOString();
    const crashed = how === "crash";
    await this.putInstance(a, {
      state: crashed ? "crashed" : "running",
      port: 5000 + a.index,
      restarts: crashed ? 3 : 0,
      ...(crashed ? { exitCode: 1 } : {}),
      lastOutput: crashed ? ["booting", "Error: GREETING is not set"] : [],
      updatedAt: now,
      startedAt: now,
    });
    if (a.processType !== "web" || crashed) return;
    await this.store.put(
      `catalog/${a.app}/${a.id}`,
      JSON.stringify({
        service: a.app,
        id: a.id,
        node: a.node,
        address: "127.0.0.1",
        port: 5000 + a.index,
        tags: [],
        meta: { app: a.app, release: String(a.release), process: a.processType },
        checks: [{ type: "http", id: "http", path: a.healthPath, interval: "1s" }],
      }),
    );
    const status = how === "pass" ? "passing" : "critical";
    const output = how === "pass" ? "HTTP 200" : "HTTP GET /: 500 Internal Server Error";
    await this.store.put(
      `health/${a.app}/${a.id}/http`,
      JSON.stringify({ status, output, updatedAt: now, since: now }),
    );
  }

  private async runOneoff(a: Assignment): Promise<void> {
    const { output, exitCode } = this.oneoff(a);
    this.log(a.app, `${a.processType}.${a.index}`, output);
    const now = new Date().toISOString();
    await this.putInstance(a, {
      state: "exited",
      exitCode,
      restarts: 0,
      lastOutput: output.slice(-20),
      updatedAt: now,
      startedAt: now,
    });
  }

  /** Write the instance record of `a`: its identity, then `fields`. */
  private async putInstance(a: Assignment, fields: Record<string, unknown>): Promise<void> {
    const { id, app, release, processType, index, node } = a;
    await this.store.put(
      instanceKey(id),
      JSON.stringify({ id, app, release, processType, index, node, ...fields }),
    );
  }

  async stop(): Promise<void> {
    this.watch.cancel();
    await this.done;
  }
}
