import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { Empty, Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useLive } from "../hooks";
import { useCan } from "../session";
import { entriesOf, kvApi, kvHref, type Entry } from "./kv-tree";

/** One folder: its sub-folders and keys, live; a new key starts here. */
export function KvFolder(props: { prefix: string; trail: ReactNode }) {
  const { prefix } = props;
  const can = useCan();
  const keys = useLive<string[]>(`${prefix === "" ? "/v1/kv/" : kvApi(prefix)}?keys`, ["kv"], (c) =>
    c.name.startsWith(prefix),
  );
  const entries = useMemo(() => entriesOf(prefix, keys.data ?? []), [prefix, keys.data]);
  return (
    <Page
      title={prefix === "" ? "Keys" : prefix}
      docTitle={`Keys ${prefix}`}
      ready={keys.data !== undefined || keys.error !== undefined}
      error={keys.error}
    >
      {props.trail}
      {can("kv", prefix, "write") || can("kv", prefix + "x", "write") ? (
        <NewKey prefix={prefix} />
      ) : null}
      {keys.data === undefined && keys.error === undefined ? (
        <Skeleton rows={5} />
      ) : entries.length === 0 ? (
        <Empty>
          {prefix === ""
            ? "No keys yet (or none this token may read). Create one above, or: gantry kv put KEY VALUE"
            : `Nothing under ${prefix}.`}
        </Empty>
      ) : (
        <Table<Entry>
          label={`keys under ${prefix === "" ? "the root" : prefix}`}
          rows={entries}
          rowKey={(e) => e.path}
          rowTestId={(e) => `kv-row-${e.path}`}
          columns={[
            {
              title: "Name",
              cell: (e) => (
                <Link href={kvHref(e.path)} className={e.folder ? "kv-folder" : "kv-key"}>
                  {e.folder ? <span aria-hidden="true">📁 </span> : null}
                  {e.name}
                </Link>
              ),
            },
            {
              title: "Keys",
              className: "num",
              cell: (e) => (e.folder ? String(e.count) : ""),
            },
          ]}
        />
      )}
    </Page>
  );
}

function NewKey(props: { prefix: string }) {
  const [, navigate] = useLocation();
  const [name, setName] = useState("");
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const trimmed = name.trim().replace(/^\/+/, "");
    if (trimmed === "") return;
    navigate(kvHref(props.prefix + trimmed));
  };
  return (
    <form className="kv-new" onSubmit={submit}>
      <label>
        New key in {props.prefix === "" ? "the root" : props.prefix}
        <input
          type="text"
          value={name}
          placeholder="name (a/b makes folders)"
          data-testid="kv-new-name"
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <button type="submit" className="btn" disabled={name.trim() === ""} data-testid="kv-new">
        New key
      </button>
    </form>
  );
}
