import { appendFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** `DATA_DIR/logs/<app>/builds`: one `<build id>.log` per build, lines as `<ISO time> <text>`. */
export const buildLogDir = (dataDir: string, app: string): string =>
  join(dataDir, "logs", app, "builds");

export const buildLogPath = (dataDir: string, app: string, id: string): string =>
  join(buildLogDir(dataDir, app), `${id}.log`);

/**
 * Appends a build's output to its log file. Synchronous appends: build output is small and
 * line-sized, and a line must be on disk before the pusher sees the build's verdict.
 */
export class BuildLog {
  readonly path: string;

  constructor(dataDir: string, app: string, id: string) {
    mkdirSync(buildLogDir(dataDir, app), { recursive: true, mode: 0o700 });
    this.path = buildLogPath(dataDir, app, id);
  }

  line(text: string): void {
    appendFileSync(this.path, `${new Date().toISOString()} ${text}\n`, { mode: 0o600 });
  }
}

/** Keep the newest `keep` build logs of an app (build ids sort by time). */
export function pruneBuildLogs(dataDir: string, app: string, keep: number): void {
  const dir = buildLogDir(dataDir, app);
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith(".log"))
      .sort();
  } catch {
    return;
  }
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    rmSync(join(dir, name), { force: true });
  }
}
