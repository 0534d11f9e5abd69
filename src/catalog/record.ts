import type { HealthRecord, HealthReport } from "../model/service.js";

/**
 * The record to store for a new report, or undefined when nothing changed (same status and
 * output): agents may repeat themselves without waking every blocking reader. `since` moves only
 * when the status changes, so it tells how long a check has been critical.
 */
export function nextRecord(
  prev: HealthRecord | undefined,
  report: HealthReport,
  now: Date,
): HealthRecord | undefined {
  if (prev !== undefined && prev.status === report.status && prev.output === report.output)
    return undefined;
  const at = now.toISOString();
  return {
    status: report.status,
    output: report.output,
    updatedAt: at,
    since: prev !== undefined && prev.status === report.status ? prev.since : at,
  };
}

/** A stored health record, or undefined when the bytes are not one (never trust a foreign write). */
export function parseRecord(raw: string): HealthRecord | undefined {
  try {
    const r = JSON.parse(raw) as Partial<HealthRecord>;
    if (
      (r.status === "passing" || r.status === "warning" || r.status === "critical") &&
      typeof r.output === "string" &&
      typeof r.updatedAt === "string" &&
      typeof r.since === "string"
    )
      return r as HealthRecord;
  } catch {
    // fall through
  }
  return undefined;
}
