import { useState } from "react";
import { api, seg } from "../api";
import { Badge, Time } from "../components/bits";
import { ConfirmButton } from "../components/confirm";
import { Empty, Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useLive } from "../hooks";
import { useCan, useSession } from "../session";
import {
  CreateToken,
  policyText,
  SecretDialog,
  type TokenRow,
  type WithSecret,
} from "./tokens-form";
import { NeedsAdmin } from "../components/needs-admin";
import "../data-pages.css";

/** Tokens (admin): list, create (secret shown once), rotate, revoke; live on topic tokens. */
export function Tokens() {
  const can = useCan();
  if (!can("admin", "", "read")) return <NeedsAdmin title="Tokens" />;
  return <TokensPage />;
}

function TokensPage() {
  const session = useSession();
  const list = useLive<TokenRow[]>("/v1/tokens", ["tokens"]);
  const [secret, setSecret] = useState<{ token: WithSecret; what: string } | undefined>();
  const rows = [...(list.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <Page
      title="Tokens"
      ready={list.data !== undefined || list.error !== undefined}
      error={list.error}
    >
      <CreateToken
        onCreated={(t) => {
          setSecret({ token: t, what: "Created" });
          list.reload();
        }}
      />
      {list.data === undefined ? (
        list.error === undefined ? (
          <Skeleton rows={4} />
        ) : null
      ) : rows.length === 0 ? (
        <Empty>No tokens.</Empty>
      ) : (
        <Table<TokenRow>
          label="tokens"
          rows={rows}
          rowKey={(t) => t.id}
          rowTestId={(t) => `token-row-${t.name}`}
          columns={[
            {
              title: "Name",
              cell: (t) => (
                <>
                  {t.name}
                  {t.id === session.tokenId ? <span className="muted"> (you)</span> : null}
                </>
              ),
            },
            { title: "Role", cell: (t) => t.role ?? <span className="muted">—</span> },
            {
              title: "Policies",
              cell: (t) => {
                const all = t.policies.map(policyText);
                const shown = all.length > 3 ? [...all.slice(0, 3), `… +${all.length - 3}`] : all;
                return (
                  <code className="f-policies" title={all.join("\n")}>
                    {shown.join(" ")}
                    {t.apps !== undefined && t.apps.length > 0
                      ? ` (apps ${t.apps.join(", ")})`
                      : ""}
                  </code>
                );
              },
            },
            {
              title: "Created",
              cell: (t) => (
                <>
                  <Time at={t.createdAt} /> <span className="muted">by {t.createdBy}</span>
                </>
              ),
            },
            { title: "Expires", cell: (t) => <Expires at={t.expiresAt} /> },
            {
              title: "",
              cell: (t) => (
                <span className="f-row-actions">
                  <ConfirmButton
                    label="Rotate"
                    title={`Rotate ${t.name}?`}
                    confirmLabel="Rotate"
                    testId={`token-rotate-${t.name}`}
                    action={async () => {
                      const r = await api<WithSecret>(`/v1/tokens/${seg(t.id)}/rotate`, {
                        method: "POST",
                      });
                      setSecret({ token: r, what: "New secret of" });
                    }}
                  >
                    <p>
                      It gets a new secret (shown once); the old one stops working at once
                      {t.id === session.tokenId ? ", and this session ends" : ""}.
                    </p>
                  </ConfirmButton>
                  <ConfirmButton
                    label="Revoke"
                    danger
                    title={`Revoke ${t.name}?`}
                    confirmLabel="Revoke"
                    testId={`token-revoke-${t.name}`}
                    action={() => api(`/v1/tokens/${seg(t.id)}`, { method: "DELETE" })}
                  >
                    <p>
                      It stops working at once
                      {t.id === session.tokenId ? "; it is the token you are logged in with" : ""}.
                    </p>
                  </ConfirmButton>
                </span>
              ),
            },
          ]}
        />
      )}
      {secret === undefined ? null : (
        <SecretDialog
          token={secret.token}
          what={secret.what}
          onClose={() => setSecret(undefined)}
        />
      )}
    </Page>
  );
}

function Expires(props: { at: string | undefined }) {
  if (props.at === undefined) return <span className="muted">never</span>;
  const when = Date.parse(props.at);
  const text = new Date(when).toLocaleString();
  return when <= Date.now() ? (
    <Badge state="failed">expired {text}</Badge>
  ) : (
    <time dateTime={props.at}>{text}</time>
  );
}
