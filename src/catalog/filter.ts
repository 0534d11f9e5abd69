import type { CheckView, InstanceView, ServiceSummary } from "../model/service.js";

export interface InstanceFilter {
  /** Only instances whose every check passes (warning is not passing, as in Consul's ?passing). */
  passing?: boolean;
  /** Only instances carrying this tag. */
  tag?: string;
}

/** The instances that match a filter, in a stable order (by service, then id). */
export function filterInstances(
  views: InstanceView[],
  filter: InstanceFilter = {},
): InstanceView[] {
  return views
    .filter((v) => !filter.passing || v.status === "passing")
    .filter((v) => filter.tag === undefined || v.tags.includes(filter.tag))
    .sort((a, b) => compare(a.service, b.service) || compare(a.id, b.id));
}

/** One line per service: its tags (union, sorted), how many instances, how many pass. */
export function summarize(views: InstanceView[]): ServiceSummary[] {
  const byName = new Map<string, { tags: Set<string>; instances: number; passing: number }>();
  for (const v of views) {
    let s = byName.get(v.service);
    if (s === undefined) byName.set(v.service, (s = { tags: new Set(), instances: 0, passing: 0 }));
    for (const t of v.tags) s.tags.add(t);
    s.instances++;
    if (v.status === "passing") s.passing++;
  }
  return [...byName.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([name, s]) => ({
      name,
      tags: [...s.tags].sort(compare),
      instances: s.instances,
      passing: s.passing,
    }));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A check that does not pass, with where it runs: `GET /v1/catalog/services?checks`. */
export interface FailingCheck {
  instance: string;
  node: string;
  check: string;
  name: string;
  status: CheckView["status"];
  output: string;
  since?: string;
}

/** Per service, the checks of its instances that do not pass (warning or critical). */
export function failingChecks(views: InstanceView[]): Map<string, FailingCheck[]> {
  const out = new Map<string, FailingCheck[]>();
  for (const v of filterInstances(views))
    for (const c of v.checks) {
      if (c.status === "passing") continue;
      const list = out.get(v.service) ?? [];
      list.push({
        instance: v.id,
        node: v.node,
        check: c.id,
        name: c.name,
        status: c.status,
        output: c.output,
        ...(c.since === undefined ? {} : { since: c.since }),
      });
      out.set(v.service, list);
    }
  return out;
}
