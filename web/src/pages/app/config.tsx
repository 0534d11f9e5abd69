import { useRef, useState } from "react";
import { api, ApiError, seg } from "../../api";
import { Secret } from "../../components/bits";
import { ConfirmButton } from "../../components/confirm";
import { Table } from "../../components/table";
import { useLive } from "../../hooks";
import { Pending } from "./pending";
import { useCan } from "../../session";
import { ofApp, type ReleaseView, type TabProps } from "./types";

interface ConfigAnswer {
  version: number;
  values: Record<string, string>;
}

/**
 * Config names come from the newest release (every config change makes one; names only, never
 * values). Values are secrets: read (and audited) only when one is revealed, by a token that may
 * deploy, once per config version; they are in the page's DOM only while revealed.
 */
export function ConfigTab({ app }: TabProps) {
  const can = useCan();
  const mayDeploy = can("app", app, "deploy");
  const releases = useLive<ReleaseView[]>(`/v1/apps/${seg(app)}/releases`, ["apps"], ofApp(app));
  const cache = useRef<{ version: number; read: Promise<ConfigAnswer> } | undefined>(undefined);
  if (releases.data === undefined) return <Pending live={releases} rows={4} />;
  const newest = releases.data[releases.data.length - 1];
  const names = [...(newest?.configNames ?? [])].sort();
  const version = newest?.configVersion ?? 0;
  const valueOf = async (name: string): Promise<string | undefined> => {
    if (cache.current?.version !== version) {
      const read = api<ConfigAnswer>(`/v1/apps/${seg(app)}/config`);
      cache.current = { version, read };
      read.catch(() => (cache.current = undefined));
    }
    return (await cache.current.read).values[name];
  };
  const change = (body: { set?: Record<string, string>; unset?: string[] }) =>
    api<{ changed: boolean; version: number }>(`/v1/apps/${seg(app)}/config`, {
      method: "PUT",
      body,
    });
  return (
    <>
      <Table
        label="config"
        rows={names}
        rowKey={(n) => n}
        rowTestId={(n) => `config-row-${n}`}
        empty="No config vars."
        columns={[
          { title: "Name", cell: (n) => <code>{n}</code> },
          {
            title: "Value",
            cell: (n) =>
              mayDeploy ? (
                <Secret key={`${n}@${version}`} load={() => valueOf(n)} />
              ) : (
                <span className="muted" title="values are readable with app deploy only">
                  hidden
                </span>
              ),
          },
          ...(mayDeploy
            ? [
                {
                  title: "Actions",
                  cell: (n: string) => (
                    <ConfirmButton
                      label="Unset"
                      title={`Unset ${n}?`}
                      danger
                      className="btn link"
                      testId={`config-unset-${n}`}
                      action={() => change({ unset: [n] }).then(() => releases.reload())}
                    >
                      <p>
                        This makes a new release of {app} without <code>{n}</code> and deploys it.
                      </p>
                    </ConfirmButton>
                  ),
                },
              ]
            : []),
        ]}
      />
      {mayDeploy ? <SetForm names={names} onSet={(k, v) => change({ set: { [k]: v } })} /> : null}
    </>
  );
}

/** Set a config var: a new release (and a deploy) when the value changed. */
function SetForm(props: {
  names: string[];
  onSet: (name: string, value: string) => Promise<{ changed: boolean; version: number }>;
}) {
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | undefined>();
  const submit = async (): Promise<void> => {
    setBusy(true);
    setNote(undefined);
    try {
      const r = await props.onSet(name.trim(), value);
      setNote({
        ok: true,
        text: r.changed ? `Set ${name.trim()}: release v${r.version}` : "No change",
      });
      setValue("");
    } catch (err) {
      setNote({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="panel app-config-set"
      aria-label="set a config var"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label>
        <span>Name</span>
        <input
          data-testid="config-name"
          value={name}
          list="app-config-names"
          autoComplete="off"
          spellCheck={false}
          required
          pattern="[A-Za-z_][A-Za-z0-9_]*"
          onChange={(e) => setName(e.target.value)}
        />
        <datalist id="app-config-names">
          {props.names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </label>
      <label>
        <span>Value</span>
        <input
          data-testid="config-value"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <button type="submit" className="btn primary" data-testid="config-set" disabled={busy}>
        {busy ? "Setting…" : "Set"}
      </button>
      {note === undefined ? null : (
        <p className={note.ok ? "muted" : "error-box"} role={note.ok ? "status" : "alert"}>
          {note.text}
        </p>
      )}
    </form>
  );
}
