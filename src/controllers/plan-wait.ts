/**
 * What a deploy (or a scaling) waits for, in words, and when to say it (issue 19): a stalled
 * deploy is never silent, and a healthy one is not flooded. Pure, like the planner around it.
 *
 * Each instance that is not up yet has a reason: its node is down, its agent has not started it,
 * it is starting (for how long), it crashed (its last line of output, and when it restarts), its
 * port was taken and it moved, its health check fails (with the status it answered). A line is
 * written when the reasons change: at once when something went wrong, else once the deploy has
 * been quiet for QUIET_MS; while they stay the same, reminders follow at 5 s, 10 s, 20 s…
 */
import { instanceName } from "../apps/formation.js";
import type { Assignment, Waiting } from "../model/app.js";
import { MIN_RUNNING_MS, type DeploySnapshot } from "./plan-types.js";

/** The longest `waiting.key` a record holds (src/model/app.ts). */
const MAX_KEY = 4000;
/** A change of reasons that is not news (an instance is still starting) waits this long. */
export const QUIET_MS = 2000;
/** The first reminder of unchanged reasons; each next one comes after twice the wait so far. */
export const REMIND_MS = 5000;

/** Why one instance is not up yet. */
export interface WaitReason {
  /** `web.2`. */
  name: string;
  /** The reason without its times: a change of it is news. */
  key: string;
  /** In words, with times: `starting (3 s)`. */
  text: string;
  /** Something went wrong (crash, failing check, node down, port moved): told at once. */
  urgent: boolean;
}

type Seen = Pick<DeploySnapshot, "now" | "nodes" | "instances" | "health">;

const secs = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))} s`;
const clip = (line: string, max = 120): string =>
  line.length > max ? `${line.slice(0, max - 1)}…` : line;

/** Why `a` is not up yet (the caller knows it is not), judged from what agents and the catalog say. */
export function waitReason(a: Assignment, s: Seen, healthPath: string): WaitReason {
  const name = instanceName(a);
  const r = (key: string, text: string, urgent = false): WaitReason => ({
    name,
    key,
    text,
    urgent,
  });
  if (!s.nodes.includes(a.node)) return r(`down:${a.node}`, `its node ${a.node} is down`, true);
  const inst = s.instances.get(a.id);
  if (inst === undefined)
    return r(
      `unreported:${a.node}`,
      `not started by node ${a.node} yet (${secs(s.now - Date.parse(a.createdAt))})`,
    );
  const last = inst.lastOutput.at(-1);
  const said = last === undefined || last.trim() === "" ? "" : `: "${clip(last.trim())}"`;
  if (inst.state === "crashed") {
    const code =
      inst.exitCode === undefined || inst.exitCode === null ? "" : ` (exit code ${inst.exitCode})`;
    const at = inst.restartAt === undefined ? undefined : Date.parse(inst.restartAt);
    const next =
      at === undefined
        ? "; it is not restarted"
        : at > s.now
          ? `; restarting in ${Math.ceil((at - s.now) / 1000)} s`
          : "; restarting now";
    return r(`crashed:${inst.restarts}`, `crashed${code}${said}${next}`, true);
  }
  if (inst.state === "exited" || inst.state === "stopped")
    return r(`state:${inst.state}`, `${inst.state}${said}`, true);
  if (inst.state === "starting" && inst.restartAt !== undefined) {
    // The agent could not get it ready (artifact, env from the server) and tries again.
    const at = Date.parse(inst.restartAt);
    const next =
      at > s.now ? `trying again in ${Math.ceil((at - s.now) / 1000)} s` : "trying again";
    return r("retry", `could not be started yet${said}; ${next}`, true);
  }
  if (inst.startedAt === undefined)
    // Its agent is getting it ready: the artifact unpacked, its config fetched, a port.
    return r(
      `preparing:${a.node}`,
      `being prepared by node ${a.node} (${secs(s.now - Date.parse(a.createdAt))})`,
    );
  const since = Date.parse(inst.startedAt);
  const up = `(${secs(s.now - since)})`;
  const moved = inst.portMoved;
  if (moved !== undefined)
    return r(
      `moved:${moved.to}`,
      `its port ${moved.from} was taken by another program: moved to ${moved.to}, starting ${up}`,
      true,
    );
  const restarted = inst.restarts > 0 ? `restarted after a crash${said}, ` : "";
  const rkey = inst.restarts > 0 ? `restarted:${inst.restarts}:` : "";
  if (a.processType !== "web") {
    if (inst.state === "starting") return r(`${rkey}starting`, `${restarted}starting ${up}`);
    const left = Math.max(0, since + MIN_RUNNING_MS - s.now);
    return r(
      `${rkey}settling`,
      `${restarted}up, counts as started in ${(left / 1000).toFixed(1)} s`,
    );
  }
  const h = s.health.get(a.id);
  const check = h?.output.trim().split("\n")[0] ?? "";
  if (h === undefined || check === "" || check === "no result yet")
    return r(`${rkey}starting`, `${restarted}starting ${up}`);
  if (/ECONNREFUSED/.test(check)) {
    const where = inst.port === undefined ? "" : ` on port ${inst.port}`;
    return r(`${rkey}starting`, `${restarted}starting, not answering${where} yet ${up}`);
  }
  const status = /^HTTP GET \S+: (\d{3})( [^\n]*?)?(?: Output: |$)/.exec(check);
  if (status !== null)
    return r(
      `check:${status[1]}`,
      `failing its health check on ${healthPath} with status ${status[1]}${clip(status[2] ?? "", 60)}`,
      true,
    );
  if (/timed out/.test(check))
    return r("check:timeout", `its health check on ${healthPath} times out`, true);
  return r("check:other", `failing its health check: ${clip(check)}`, true);
}

/** The reasons as one key: `web.1=starting web.2=check:503` (within the record's bound). */
export const reasonsKey = (reasons: WaitReason[]): string =>
  reasons
    .map((r) => `${r.name}=${r.key}`)
    .join(" ")
    .slice(0, MAX_KEY);

const MAX_GROUPS = 4;
const MAX_NAMES = 6;

/** `web.1, web.2: starting (3 s); worker.1: crashed …`: instances with one reason together. */
export function describeReasons(reasons: WaitReason[]): string {
  const groups = new Map<string, { names: string[]; text: string }>();
  for (const r of reasons) {
    const g = groups.get(r.key);
    if (g === undefined) groups.set(r.key, { names: [r.name], text: r.text });
    else g.names.push(r.name);
  }
  const parts = [...groups.values()].slice(0, MAX_GROUPS).map((g) => {
    const more = g.names.length > MAX_NAMES ? ` and ${g.names.length - MAX_NAMES} more` : "";
    return `${g.names.slice(0, MAX_NAMES).join(", ")}${more}: ${g.text}`;
  });
  const rest = groups.size - MAX_GROUPS;
  return parts.join("; ") + (rest > 0 ? `; and ${rest} more reason(s)` : "");
}

/** What to tell now (a line, and the new `waiting`), or when to look again. */
export interface WaitNews {
  line?: string;
  waiting?: Waiting;
  wakeAt?: number;
}

/**
 * Whether to tell the reasons now: when they changed and something went wrong that was not told
 * yet, or when they changed and nothing was written for QUIET_MS (since `lastLineAt`), or as a
 * reminder when they stayed the same for 5 s, 10 s, 20 s… since they were first told.
 */
export function waitNews(
  reasons: WaitReason[],
  told: Waiting | undefined,
  lastLineAt: number,
  now: number,
): WaitNews {
  if (reasons.length === 0) return {};
  const key = reasonsKey(reasons);
  const iso = new Date(now).toISOString();
  if (told !== undefined && told.key === key) {
    const first = Date.parse(told.firstAt);
    const last = Date.parse(told.lastAt);
    const next = last + Math.max(REMIND_MS, last - first);
    if (now < next) return { wakeAt: next };
    return {
      line: `still waiting (${secs(now - first)}) for ${describeReasons(reasons)}`,
      waiting: { ...told, lastAt: iso },
    };
  }
  const toldKeys = new Set(told?.key.split(" ") ?? []);
  const news = reasons.some((r) => r.urgent && !toldKeys.has(`${r.name}=${r.key}`));
  if (!news && now < lastLineAt + QUIET_MS) return { wakeAt: lastLineAt + QUIET_MS };
  return {
    line: `waiting for ${describeReasons(reasons)}`,
    waiting: { key, firstAt: iso, lastAt: iso },
  };
}
