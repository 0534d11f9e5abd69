import { StackClient } from "../client/stack.js";
import { ValidationError } from "../errors.js";
import type { StackInfo } from "../model/stack.js";
import { clientFromEnv } from "./config.js";
import { json, type Output } from "../output/output.js";

/** `gantry stack:info`: what `stack/info` says, and how many items the stack manages. */
export async function runInfo(opts: { json?: boolean }, o: Output): Promise<void> {
  const stacks = new StackClient(clientFromEnv());
  const [info, { items }] = await Promise.all([stacks.info(), stacks.items()]);
  const protectedCount = items.filter((i) => i.protect).length;
  if (opts.json) return json(o, { ...info, managed: items.length, protected: protectedCount });
  for (const [label, value] of infoRows(info, items.length, protectedCount))
    o.out(`${(label === "" ? "" : `${label}:`).padEnd(11)} ${value}`);
}

function infoRows(info: StackInfo, managed: number, protectedCount: number): [string, string][] {
  const rows: [string, string][] = [
    ["stack", info.name ?? "(not named yet)"],
    ["git url", info.gitUrl ?? "(none: applied from a folder with gantry apply)"],
  ];
  if (info.branch !== undefined) rows.push(["branch", info.branch]);
  if (info.path !== undefined) rows.push(["path", info.path]);
  rows.push(["commit", info.commit ?? "(unknown)"]);
  rows.push(["state", info.state ?? (info.lastApply === undefined ? "never applied" : "applied")]);
  rows.push(["managed", `${managed} items (${protectedCount} protected)`]);
  const drift = info.drift;
  rows.push([
    "drift",
    drift === undefined
      ? "not checked (gantry plan shows it)"
      : drift.items.length === 0
        ? `none (checked ${drift.checkedAt})`
        : `${drift.items.length} items changed by hand (checked ${drift.checkedAt})`,
  ]);
  for (const item of drift?.items.slice(0, 20) ?? []) {
    const fields = drift?.fields?.[item];
    const fixing = drift?.correcting?.includes(item) ? " (correcting)" : "";
    rows.push([
      "",
      `  ${item}${fields && fields.length > 0 ? `: ${fields.join(", ")}` : ""}${fixing}`,
    ]);
  }
  if ((drift?.items.length ?? 0) > 20)
    rows.push(["", `  … and ${drift!.items.length - 20} more (--json)`]);
  if (drift?.pinned && drift.pinned.length > 0)
    rows.push([
      "pinned",
      `${drift.pinned.join(", ")} (a rollback pinned the release; releases:unpin)`,
    ]);
  if (drift?.corrections) rows.push(["corrected", `${drift.corrections} drift corrections`]);
  const sync = info.lastSync;
  rows.push([
    "last sync",
    sync === undefined
      ? "never"
      : `${sync.at} ${sync.result}${sync.commit === undefined ? "" : ` at ${sync.commit.slice(0, 12)}`}${sync.message === undefined ? "" : `: ${sync.message.split("\n")[0]}`}`,
  ]);
  const a = info.lastApply;
  rows.push([
    "last apply",
    a === undefined
      ? "never"
      : `${a.at} by ${a.by}: ${a.result === "ok" ? `${a.created} created, ${a.updated} updated, ${a.destroyed} destroyed` : `failed: ${(a.message ?? "").split("\n")[0]}`}`,
  ]);
  return rows;
}

/** `gantry stack:forget KIND/NAME`: drop the ownership record; the item itself stays. */
export async function runForget(item: string, opts: { json?: boolean }, o: Output): Promise<void> {
  const slash = item.indexOf("/");
  if (slash <= 0 || slash === item.length - 1)
    throw new ValidationError(
      `give the item as KIND/NAME (e.g. app/web, kv/app/config/port), got "${item}"`,
      "item",
    );
  const kind = item.slice(0, slash);
  const name = item.slice(slash + 1);
  const rec = await new StackClient(clientFromEnv()).forget(kind, name);
  if (opts.json) return json(o, rec);
  o.out(`forgot ${kind} ${name}: the stack no longer manages it (it was not changed)`);
}
