import { useState, type FormEvent } from "react";

/** The filters GET /v1/audit takes (empty: not filtered). */
export interface AuditFilter {
  token: string;
  action: string;
  target: string;
  since: string;
}

export const NO_FILTER: AuditFilter = { token: "", action: "", target: "", since: "" };

/** The filter as a query string (without limit and paging). */
export function filterQuery(f: AuditFilter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim() !== "") q.set(k, v.trim());
  return q.toString();
}

const SINCE: [string, string][] = [
  ["", "any time"],
  ["15m", "last 15 minutes"],
  ["1h", "last hour"],
  ["24h", "last day"],
  ["168h", "last 7 days"],
];

/** Token, action (or family: "token" = token.*), target text and since; applied on submit. */
export function AuditFilters(props: { value: AuditFilter; onChange: (f: AuditFilter) => void }) {
  const [draft, setDraft] = useState<AuditFilter>(props.value);
  const set = (k: keyof AuditFilter, v: string): void => setDraft((d) => ({ ...d, [k]: v }));
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    props.onChange(draft);
  };
  const field = (k: "token" | "action" | "target", label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={draft[k]}
        placeholder={placeholder}
        data-testid={`audit-filter-${k}`}
        onChange={(e) => set(k, e.target.value)}
      />
    </label>
  );
  return (
    <form className="f-filters" onSubmit={submit} aria-label="filter the audit log">
      {field("token", "Token", "name or id")}
      {field("action", "Action", "kv.put, token…")}
      {field("target", "Target contains", "text")}
      <label>
        Since
        <select
          value={draft.since}
          data-testid="audit-filter-since"
          onChange={(e) => set("since", e.target.value)}
        >
          {SINCE.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn primary" data-testid="audit-filter-apply">
        Filter
      </button>
      <button
        type="button"
        className="btn"
        onClick={() => {
          setDraft(NO_FILTER);
          props.onChange(NO_FILTER);
        }}
      >
        Clear
      </button>
    </form>
  );
}
