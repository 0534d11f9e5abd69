import { readFile } from "node:fs/promises";
import { GantryError } from "../errors.js";
import { DataCache } from "./cache.js";
import {
  commandSucceeded,
  describeResult,
  runCommand as spawnCommand,
  type CommandResult,
} from "./command.js";
import { Debouncer, type WaitTimes } from "./debounce.js";
import type { Fetcher } from "./fetch.js";
import {
  compileTemplate,
  renderTemplate,
  TemplateError,
  type CompiledTemplate,
  type RenderResult,
} from "./render.js";
import type { TemplateSpec } from "./spec.js";
import { depId, type Dependency } from "./types.js";
import { DependencyWatcher, WatcherStopped } from "./watch.js";
import { WriteError, writeIfChanged } from "./write.js";

export interface TemplateLog {
  info(line: string): void;
  warn(line: string): void;
}

export interface RunOptions {
  specs: TemplateSpec[];
  fetch: Fetcher;
  log: TemplateLog;
  /** Render everything once, run the commands of what changed, and return. */
  once?: boolean;
  /** Quiet time before a re-render, and its upper bound (default 100ms:1s). */
  wait?: WaitTimes;
  /** Stops watch mode (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  runCommand?: (argv: string[]) => Promise<CommandResult>;
  /** How long each blocking read may wait on the server. */
  blockingWait?: string;
}

/** consul-template has no default wait; a short one coalesces a burst of writes into one render. */
export const DEFAULT_WAIT: WaitTimes = { minMs: 100, maxMs: 1000 };

/** Reads that depend on reads (`service(key("x"))`) take one pass per level; this bounds them. */
const MAX_PASSES = 32;

interface Loaded {
  spec: TemplateSpec;
  tpl: CompiledTemplate;
}

/**
 * `gantry template`: compile every template (a broken one stops everything before anything is
 * written), then render once or keep rendering as the data they read changes.
 */
export async function runTemplates(opts: RunOptions): Promise<void> {
  const loaded: Loaded[] = [];
  for (const spec of opts.specs) {
    let text: string;
    try {
      text = await readFile(spec.source, "utf8");
    } catch (err) {
      throw new TemplateError(spec.source, undefined, `cannot read it: ${(err as Error).message}`);
    }
    loaded.push({ spec, tpl: compileTemplate(text, spec.source) });
  }
  if (opts.once) await renderOnce(loaded, opts);
  else await watch(loaded, opts);
}

/** Render until nothing the template read is still loading. */
async function renderUntilLoaded(
  tpl: CompiledTemplate,
  cache: DataCache,
  load: (dep: Dependency) => Promise<void>,
  missingKeys: "error" | "wait",
): Promise<RenderResult> {
  for (let pass = 1; ; pass++) {
    const result = renderTemplate(tpl, cache, { missingKeys });
    if (result.pending.length === 0) return result;
    if (pass >= MAX_PASSES)
      throw new TemplateError(tpl.file, undefined, `reads nested more than ${MAX_PASSES} deep`);
    await Promise.all(result.pending.map(load));
  }
}

/** Write DEST if the output changed, then run COMMAND; false when the command failed. */
async function commit(
  spec: TemplateSpec,
  output: string,
  opts: RunOptions,
): Promise<{ ok: boolean; message?: string }> {
  if (!(await writeIfChanged(spec.dest, output))) {
    opts.log.info(`${spec.dest}: unchanged`);
    return { ok: true };
  }
  opts.log.info(`${spec.dest}: rendered from ${spec.source}`);
  if (spec.command === undefined) return { ok: true };
  const result = await (opts.runCommand ?? spawnCommand)(spec.command.argv);
  const message = `${spec.dest}: command "${spec.command.line}" ${describeResult(result)}`;
  if (commandSucceeded(result)) {
    opts.log.info(message);
    return { ok: true };
  }
  opts.log.warn(message);
  return { ok: false, message };
}

async function renderOnce(loaded: Loaded[], opts: RunOptions): Promise<void> {
  const cache = new DataCache();
  const loads = new Map<string, Promise<void>>();
  const load = (dep: Dependency): Promise<void> => {
    const id = depId(dep);
    let p = loads.get(id);
    if (p === undefined) {
      p = opts.fetch(dep).then((r) => void cache.set(dep, r.value));
      loads.set(id, p);
    }
    return p;
  };
  // Render everything before writing anything: one failing template leaves every file as it was.
  const outputs: string[] = [];
  for (const t of loaded)
    outputs.push((await renderUntilLoaded(t.tpl, cache, load, "error")).output);
  const failed: string[] = [];
  for (const [i, t] of loaded.entries()) {
    const res = await commit(t.spec, outputs[i]!, opts);
    if (!res.ok) failed.push(res.message!);
  }
  if (failed.length > 0) throw new GantryError("command_failed", failed.join("; "));
}

interface WatchContext {
  cache: DataCache;
  watcher: DependencyWatcher;
  opts: RunOptions;
  fail: (err: unknown) => void;
}

async function watch(loaded: Loaded[], opts: RunOptions): Promise<void> {
  const done = new AbortController();
  let fatal: { err: unknown } | undefined;
  const fail = (err: unknown): void => {
    if (err instanceof WatcherStopped) return;
    fatal ??= { err };
    done.abort();
  };
  const stop = (): void => done.abort();
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener("abort", stop);

  const cache = new DataCache();
  const runners: TemplateRunner[] = [];
  const watcher = new DependencyWatcher(cache, {
    fetch: opts.fetch,
    onChange: (dep) => {
      const id = depId(dep);
      for (const r of runners) r.changed(id);
    },
    onError: fail,
    warn: (line) => opts.log.warn(line),
    ...(opts.blockingWait === undefined ? {} : { wait: opts.blockingWait }),
  });
  const ctx: WatchContext = { cache, watcher, opts, fail };
  for (const t of loaded) runners.push(new TemplateRunner(t, ctx));
  for (const r of runners) r.start().catch(fail);

  await new Promise<void>((resolve) => {
    if (done.signal.aborted) resolve();
    else done.signal.addEventListener("abort", () => resolve());
  });
  opts.signal?.removeEventListener("abort", stop);
  const stopping = runners.map((r) => r.stop()); // flags first, so pending loads end quietly
  watcher.stop();
  await Promise.all(stopping);
  if (fatal !== undefined) throw fatal.err;
}

/**
 * One SRC:DEST[:COMMAND] in watch mode: holds the dependencies it read, re-renders after they
 * change (debounced), one render at a time.
 */
class TemplateRunner {
  private readonly held = new Map<string, Dependency>();
  private readonly debouncer: Debouncer;
  private busy: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopped = false;
  private waitingFor = "";

  constructor(
    private readonly t: Loaded,
    private readonly ctx: WatchContext,
  ) {
    this.debouncer = new Debouncer(ctx.opts.wait ?? DEFAULT_WAIT, () => {
      this.cycle().catch(ctx.fail);
    });
  }

  /** The first render: right away, and its errors stop `gantry template` (fail fast). */
  start(): Promise<void> {
    return this.cycle();
  }

  changed(id: string): void {
    if (!this.stopped && this.held.has(id)) this.debouncer.trigger();
  }

  /** Stop re-rendering; resolves when a render (and its command) in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.debouncer.cancel();
    await this.busy?.catch(() => {});
  }

  private cycle(): Promise<void> {
    if (this.busy !== undefined) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      try {
        do {
          this.again = false;
          await this.render();
        } while (this.again && !this.stopped);
      } finally {
        this.busy = undefined;
      }
    })();
    return this.busy;
  }

  private async render(): Promise<void> {
    const { spec, tpl } = this.t;
    const { log } = this.ctx.opts;
    const first = !this.started;
    this.started = true;
    try {
      const result = await renderUntilLoaded(tpl, this.ctx.cache, (d) => this.hold(d), "wait");
      if (this.stopped) return;
      this.releaseUnused(result.deps);
      if (result.missingKeys.length > 0) {
        const keys = result.missingKeys.map((k) => `"${k}"`).join(", ");
        if (keys !== this.waitingFor)
          log.info(
            `${spec.source}: waiting for key${result.missingKeys.length > 1 ? "s" : ""} ${keys} to exist`,
          );
        this.waitingFor = keys;
        return;
      }
      this.waitingFor = "";
      await commit(spec, result.output, this.ctx.opts);
    } catch (err) {
      if (this.stopped && err instanceof WatcherStopped) return;
      // Later on, bad data or a full disk must not take the process down: the last good file
      // stays, and the next change tries again.
      if (first || !(err instanceof TemplateError || err instanceof WriteError)) throw err;
      log.warn(
        `${(err as Error).message} (${spec.dest} kept as it was; retrying on the next change)`,
      );
    }
  }

  private hold(dep: Dependency): Promise<void> {
    const id = depId(dep);
    if (this.held.has(id)) return this.ctx.watcher.ready(dep);
    this.held.set(id, dep);
    return this.ctx.watcher.retain(dep);
  }

  private releaseUnused(deps: Dependency[]): void {
    const used = new Set(deps.map(depId));
    for (const [id, dep] of this.held) {
      if (used.has(id)) continue;
      this.held.delete(id);
      this.ctx.watcher.release(dep);
    }
  }
}
