import { useEffect, useState, type ReactNode } from "react";
import { useLocation } from "wouter";
import { api, ApiError } from "../api";
import { ConfirmButton } from "../components/confirm";
import { Alert, Page, Skeleton } from "../components/page";
import { useLive } from "../hooks";
import { useCan } from "../session";
import { KvConflict, readCurrent, type Current } from "./kv-conflict";
import { kvApi, kvHref, parentOf, showValue, sizeText } from "./kv-tree";

/** A key as GET /v1/kv/<key> answers it (the value in base64). */
export interface ApiKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
  session?: string;
}

/** What the editor loaded: saves compare-and-swap on this revision (0: the key is new). */
interface Base {
  rev: number;
  text: string;
}

/**
 * One key in an editor. It keeps the value and revision it loaded until the user saves or
 * loads the newer one: a change made elsewhere meanwhile is announced, never silently swapped
 * in under the user's edit, and a save on the old revision is refused (KvConflict).
 */
export function KvKey(props: { keyName: string; trail: ReactNode }) {
  const key = props.keyName;
  const can = useCan();
  const writable = can("kv", key, "write");
  const [, navigate] = useLocation();
  const live = useLive<ApiKv>(kvApi(key), ["kv"], (c) => c.name === key);
  const missing = live.error?.status === 404;
  const shown = live.data === undefined ? undefined : showValue(live.data.value);
  const [base, setBase] = useState<Base | undefined>();
  const [draft, setDraft] = useState("");
  const [conflict, setConflict] = useState<Current | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState<number | undefined>();

  const load = (b: Base): void => {
    setBase(b);
    setDraft(b.text);
    setConflict(undefined);
  };
  useEffect(() => {
    if (base !== undefined) return;
    if (live.data !== undefined && shown?.kind === "text")
      load({ rev: live.data.modRevision, text: shown.text });
    else if (missing) load({ rev: 0, text: "" });
  }, [live.data, missing, base, shown]);

  const save = async (cas: number): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const res = await api<{ revision: number }>(`${kvApi(key)}?cas=${cas}`, {
        method: "PUT",
        body: draft,
      });
      setBase({ rev: res.revision, text: draft });
      setConflict(undefined);
      setSaved(res.revision);
    } catch (err) {
      if (err instanceof ApiError && err.code === "cas_failed") {
        // The API says only that the revision moved: read what is there now to show it.
        setConflict(await readCurrent(key));
      } else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const serverRev = live.data?.modRevision ?? 0;
  const changedElsewhere =
    base !== undefined &&
    conflict === undefined &&
    ((live.data !== undefined && serverRev > base.rev) ||
      (missing && base.rev > 0 && saved !== base.rev));
  const readOnlyValue = shown !== undefined && shown.kind !== "text";

  return (
    <Page
      title={key}
      docTitle={`Key ${key}`}
      ready={live.data !== undefined || live.error !== undefined}
      error={missing ? undefined : live.error}
    >
      {props.trail}
      {live.loading && base === undefined && !readOnlyValue ? <Skeleton rows={4} /> : null}
      {live.data !== undefined ? (
        <p className="muted kv-meta" data-testid="kv-meta">
          revision {live.data.modRevision} · version {live.data.version} ·{" "}
          {sizeText(shown?.bytes ?? 0)}
          {live.data.lease !== "0" ? ` · lease ${live.data.lease}` : ""}
          {live.data.session !== undefined ? ` · held by session ${live.data.session}` : ""}
        </p>
      ) : missing ? (
        <p className="muted kv-meta">
          {writable ? "A new key: it is created when you save." : "No such key."}
        </p>
      ) : null}
      {changedElsewhere ? (
        <div className="kv-banner" role="status" data-testid="kv-changed">
          {missing
            ? "This key was deleted since you opened it."
            : `This key changed since you opened it (revision ${base.rev} → ${serverRev}).`}{" "}
          {shown?.kind === "text" && live.data !== undefined ? (
            <button
              type="button"
              className="btn link"
              onClick={() => load({ rev: live.data!.modRevision, text: shown.text })}
            >
              Load the new value
            </button>
          ) : null}
        </div>
      ) : null}
      {readOnlyValue ? (
        <div className="kv-readonly" data-testid="kv-readonly">
          <p>
            {shown.kind === "binary" ? "A binary value" : "A large value"} of{" "}
            {sizeText(shown.bytes)}, shown read-only. Use <code>gantry kv get {key}</code> to read
            it whole.
          </p>
          <pre className="kv-preview">{shown.preview}</pre>
        </div>
      ) : base !== undefined ? (
        <>
          <label className="kv-editor">
            <span className="sr-only">Value of {key}</span>
            <textarea
              data-testid="kv-value"
              value={draft}
              readOnly={!writable}
              spellCheck={false}
              rows={Math.min(24, Math.max(6, draft.split("\n").length + 1))}
              onChange={(e) => {
                setDraft(e.target.value);
                setSaved(undefined);
              }}
            />
          </label>
          {writable ? (
            <div className="kv-actions">
              <button
                type="button"
                className="btn primary"
                data-testid="kv-save"
                disabled={busy}
                onClick={() => void save(base.rev)}
              >
                {busy ? "Saving…" : base.rev === 0 ? "Create" : "Save"}
              </button>
              <button
                type="button"
                className="btn"
                disabled={draft === base.text}
                onClick={() => setDraft(base.text)}
              >
                Revert
              </button>
              {base.rev > 0 ? (
                <ConfirmButton
                  label="Delete"
                  danger
                  title={`Delete ${key}?`}
                  confirmLabel="Delete"
                  testId="kv-delete"
                  action={async () => {
                    await api(`${kvApi(key)}?cas=${base.rev}`, { method: "DELETE" });
                    navigate(kvHref(parentOf(key)));
                  }}
                >
                  <p>
                    The key is deleted only if it is still at revision {base.rev} (as you see it).
                  </p>
                </ConfirmButton>
              ) : null}
              {saved !== undefined ? (
                <span role="status" className="muted" data-testid="kv-saved">
                  Saved (revision {saved})
                </span>
              ) : null}
            </div>
          ) : null}
        </>
      ) : null}
      <Alert message={error} />
      {conflict !== undefined && base !== undefined ? (
        <KvConflict
          current={conflict}
          loadedRev={base.rev}
          busy={busy}
          onTheirs={() => {
            if (conflict.shown?.kind === "text")
              load({ rev: conflict.rev, text: conflict.shown.text });
            else if (!conflict.exists) load({ rev: 0, text: "" });
            else live.reload();
          }}
          onOverwrite={() => void save(conflict.rev)}
        />
      ) : null}
    </Page>
  );
}
