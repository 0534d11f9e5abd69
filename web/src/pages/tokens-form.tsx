import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { PolicyShape } from "../../../src/model/policy-match.js";
import { Alert } from "../components/page";

/** A token as GET /v1/tokens lists it (never its secret). */
export interface TokenRow {
  id: string;
  name: string;
  policies: PolicyShape[];
  createdAt: string;
  createdBy: string;
  role?: string;
  apps?: string[];
  expiresAt?: string;
  modRevision?: number;
}

export type WithSecret = TokenRow & { secret: string };

/** A policy in the CLI's syntax: `admin`, `RESOURCE:PREFIX:ACCESS` (`=NAME` for one name). */
export function policyText(p: PolicyShape): string {
  if ("admin" in p) return "admin";
  return `${p.resource}:${p.exact === true ? "=" : ""}${p.prefix}:${p.access}`;
}

/** The CLI's syntax back into policies; the API checks resources and access and names the bad one. */
export function parsePolicies(text: string): unknown[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      if (l === "admin") return { admin: true };
      const first = l.indexOf(":");
      const last = l.lastIndexOf(":");
      if (first < 0 || first === last)
        throw new Error(`"${l}" is not admin or RESOURCE:PREFIX:ACCESS (e.g. kv:app/:write)`);
      const prefix = l.slice(first + 1, last);
      return {
        resource: l.slice(0, first),
        prefix: prefix.startsWith("=") ? prefix.slice(1) : prefix,
        access: l.slice(last + 1),
        ...(prefix.startsWith("=") ? { exact: true } : {}),
      };
    });
}

const ROLES = ["", "admin", "operator", "deployer", "viewer"] as const;
const EXPIRY: [string, string][] = [
  ["", "never"],
  ["1h", "in 1 hour"],
  ["24h", "in 1 day"],
  ["168h", "in 7 days"],
  ["720h", "in 30 days"],
  ["8760h", "in 1 year"],
];

/** Create a token from a role (and apps, for deployer) and/or policies, with an expiry. */
export function CreateToken(props: { onCreated: (t: WithSecret) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<string>("viewer");
  const [apps, setApps] = useState("");
  const [policies, setPolicies] = useState("");
  const [ttl, setTtl] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const appList = apps
        .split(/[\s,]+/)
        .map((a) => a.trim())
        .filter((a) => a !== "");
      const body = {
        name: name.trim(),
        policies: parsePolicies(policies),
        ...(role === "" ? {} : { role }),
        ...(role === "deployer" ? { apps: appList } : {}),
        ...(ttl === "" ? {} : { ttl }),
      };
      const created = await api<WithSecret>("/v1/tokens", { method: "POST", body });
      setName("");
      setPolicies("");
      setApps("");
      props.onCreated(created);
    } catch (err) {
      setError(
        err instanceof ApiError && err.field !== undefined
          ? `${err.field}: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="f-form panel" onSubmit={(e) => void submit(e)} aria-label="create a token">
      <label>
        Name
        <input
          required
          value={name}
          data-testid="token-name"
          onChange={(e) => setName(e.target.value)}
          placeholder="ci-deployer"
        />
      </label>
      <label>
        Role
        <select value={role} data-testid="token-role" onChange={(e) => setRole(e.target.value)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r === "" ? "(none: policies only)" : r}
            </option>
          ))}
        </select>
      </label>
      {role === "deployer" ? (
        <label>
          Apps
          <input value={apps} onChange={(e) => setApps(e.target.value)} placeholder="web, api" />
        </label>
      ) : null}
      <label>
        Policies (one per line)
        <textarea
          rows={2}
          value={policies}
          data-testid="token-policies"
          onChange={(e) => setPolicies(e.target.value)}
          placeholder="kv:app/:write"
        />
      </label>
      <label>
        Expires
        <select value={ttl} onChange={(e) => setTtl(e.target.value)}>
          {EXPIRY.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn primary" disabled={busy} data-testid="token-create">
        {busy ? "Creating…" : "Create token"}
      </button>
      <Alert message={error} />
    </form>
  );
}

/** The new secret, shown this once (with Copy); closing the dialog forgets it. */
export function SecretDialog(props: { token: WithSecret; what: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(props.token.secret);
      setCopied(true);
    } catch {
      // No clipboard (plain http): the secret is selectable by hand.
      setCopied(false);
    }
  };
  return (
    <dialog ref={ref} className="dialog" data-testid="token-secret-dialog" onClose={props.onClose}>
      <h2>
        {props.what} {props.token.name}
      </h2>
      <p>Copy the secret now: it is shown only this once and cannot be read again.</p>
      <code className="f-secret" data-testid="token-secret">
        {props.token.secret}
      </code>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="btn primary" autoFocus onClick={props.onClose}>
          Done
        </button>
      </div>
    </dialog>
  );
}
