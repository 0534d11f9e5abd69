import { durationMs } from "../model/duration.js";
import type { CheckView } from "../model/service.js";
import {
  runProbe,
  type ActiveCheck,
  type Probes,
  type ProbeResult,
  type ProbeTarget,
} from "./probes/index.js";
import { shouldReport, type Sent } from "./report-policy.js";

/**
 * Until an http or tcp check has passed once — an instance starting — it runs this often at
 * most: a new instance is routed, and the deploy that waits for it moves on, as soon as it
 * answers rather than up to an interval later (issue 19).
 */
export const FIRST_PASS_EVERY_MS = 100;
/** ...for this long after the check starts; one that has not passed by then keeps its interval. */
export const FIRST_PASS_WINDOW_MS = 60_000;

export interface RunnerOptions {
  check: ActiveCheck;
  target: ProbeTarget;
  probes: Probes;
  /** What the server holds for this check right now. */
  stored: CheckView | undefined;
  /** Send a result; resolves to the stored view after the write, or undefined if it failed. */
  report: (result: ProbeResult) => Promise<CheckView | undefined>;
  now?: () => number;
}

/**
 * Runs one check on its interval (the first run at once), never two runs at a time, and reports
 * results that differ from what the server holds.
 */
export class CheckRunner {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly abort = new AbortController();
  private stored: CheckView | undefined;
  private last: Sent | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly began: number;
  private passed: boolean;

  constructor(private readonly opts: RunnerOptions) {
    this.stored = opts.stored;
    this.now = opts.now ?? Date.now;
    this.began = this.now();
    this.passed = opts.stored?.status === "passing";
  }

  start(): void {
    this.schedule(0);
  }

  /** The server's latest view of this check (from the agent's catalog read). */
  update(stored: CheckView | undefined): void {
    this.stored = stored;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce();
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    const started = this.now();
    const { check, target, probes } = this.opts;
    try {
      const result = await runProbe(probes, check, target, this.abort.signal).catch(
        (err: unknown): ProbeResult => ({
          status: "critical",
          output: `the check could not run: ${err instanceof Error ? err.message : String(err)}`,
        }),
      );
      if (this.abort.signal.aborted) return;
      if (result.status === "passing") this.passed = true;
      if (shouldReport(result, this.stored, this.last, this.now())) {
        const stored = await this.opts.report(result);
        if (stored !== undefined) {
          this.stored = stored;
          this.last = { result, at: this.now() };
        }
      }
    } finally {
      this.schedule(Math.max(0, started + this.every() - this.now()));
    }
  }

  /** The wait between runs: the check's interval, shorter while a new instance comes up. */
  private every(): number {
    const { check } = this.opts;
    const interval = durationMs(check.interval);
    const starting =
      !this.passed &&
      (check.type === "http" || check.type === "tcp") &&
      this.now() - this.began < FIRST_PASS_WINDOW_MS;
    return starting ? Math.min(interval, FIRST_PASS_EVERY_MS) : interval;
  }
}
