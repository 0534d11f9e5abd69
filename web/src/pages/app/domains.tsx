import { useState } from "react";
import { api, ApiError, seg } from "../../api";
import { Badge } from "../../components/bits";
import { ConfirmButton } from "../../components/confirm";
import { Alert, Skeleton } from "../../components/page";
import { Table } from "../../components/table";
import { useLive } from "../../hooks";
import { useCan } from "../../session";
import { ofApp, type CertView, type TabProps } from "./types";
import { certState, covers } from "./logic";

const TONE: Record<string, string> = {
  valid: "healthy",
  expired: "failed",
  pending: "pending",
  warning: "warning",
};

/** The names the app answers on, their certificate, and (with app write) add and remove. */
export function DomainsTab({ app, info }: TabProps) {
  const can = useCan();
  const certs = useLive<{ certs: CertView[] }>(
    `/v1/certs?app=${seg(app)}`,
    ["certs", "apps"],
    ofApp(app),
  );
  if (info === undefined) return <Skeleton rows={3} />;
  const mayWrite = can("app", app, "write");
  const cert = certs.data?.certs.find((c) => c.app === app);
  const own = hostOf(info.url);
  const rows = [
    ...(own === undefined ? [] : [{ host: own, custom: false }]),
    ...info.domains.map((host) => ({ host, custom: true })),
  ];
  return (
    <>
      <Table
        label="domains"
        rows={rows}
        rowKey={(r) => r.host}
        rowTestId={(r) => `domain-row-${r.host}`}
        columns={[
          {
            title: "Domain",
            cell: (r) => (
              <span>
                <code>{r.host}</code> {r.custom ? null : <span className="muted">(default)</span>}
              </span>
            ),
          },
          {
            title: "Certificate",
            cell: (r) => {
              if (certs.data === undefined) return <span className="muted">…</span>;
              const s = certState(r.host, cert);
              return (
                <span className="app-cert">
                  <Badge state={TONE[s.state] ?? s.state} testId="cert-state">
                    {s.state}
                  </Badge>
                  <span className="muted app-ellipsis">{s.note}</span>
                </span>
              );
            },
          },
          {
            title: "Expires",
            cell: (r) =>
              cert !== undefined && cert.domains.some((d) => covers(d, r.host)) ? (
                <time dateTime={cert.notAfter}>{cert.notAfter.slice(0, 10)}</time>
              ) : (
                <span className="muted">—</span>
              ),
            className: "hide-phone",
          },
          ...(mayWrite
            ? [
                {
                  title: "Actions",
                  cell: (r: { host: string; custom: boolean }) =>
                    r.custom ? (
                      <ConfirmButton
                        label="Remove"
                        title={`Stop routing ${r.host} to ${app}?`}
                        danger
                        className="btn link"
                        action={() =>
                          api(`/v1/apps/${seg(app)}/domains/${seg(r.host)}`, { method: "DELETE" })
                        }
                      >
                        <p>The router stops sending {r.host} to this app.</p>
                      </ConfirmButton>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
      {cert === undefined ? null : (
        <p className="muted">
          Certificate ({cert.source === "acme" ? "ACME" : "certs:add"}) for{" "}
          {cert.domains.join(", ")}, valid until {cert.notAfter.slice(0, 10)}.
        </p>
      )}
      {mayWrite ? <AddDomain app={app} /> : null}
    </>
  );
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function AddDomain(props: { app: string }) {
  const [domain, setDomain] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const add = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`/v1/apps/${seg(props.app)}/domains`, {
        method: "POST",
        body: { domain: domain.trim().toLowerCase() },
      });
      setDomain("");
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="panel app-inline-form"
      aria-label="add a domain"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <label>
        <span>Add a domain</span>
        <input
          data-testid="domain-add"
          value={domain}
          placeholder="www.example.com"
          autoComplete="off"
          spellCheck={false}
          required
          onChange={(e) => setDomain(e.target.value)}
        />
      </label>
      <button type="submit" className="btn primary" disabled={busy}>
        {busy ? "Adding…" : "Add"}
      </button>
      <Alert message={error} />
    </form>
  );
}
