import { api, ApiError } from "../api";
import { showValue, sizeText, kvApi, type Shown } from "./kv-tree";
import type { ApiKv } from "./kv-key";

/** What a key holds now, read after a refused save. */
export interface Current {
  exists: boolean;
  /** Its modRevision (0 when it does not exist): an overwrite compares on it. */
  rev: number;
  shown?: Shown;
}

export async function readCurrent(key: string): Promise<Current> {
  try {
    const kv = await api<ApiKv>(kvApi(key));
    return { exists: true, rev: kv.modRevision, shown: showValue(kv.value) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return { exists: false, rev: 0 };
    throw err;
  }
}

/**
 * A save refused because the key moved on: the value it holds now, next to the user's edit
 * (still in the editor), and the two ways out.
 */
export function KvConflict(props: {
  current: Current;
  loadedRev: number;
  busy: boolean;
  onTheirs: () => void;
  onOverwrite: () => void;
}) {
  const { current } = props;
  return (
    <section className="kv-conflict" role="alert" data-testid="kv-conflict">
      <h2>Not saved: the key changed since you loaded it</h2>
      {current.exists ? (
        <p>
          You edited revision {props.loadedRev}; it is now at revision{" "}
          <strong data-testid="kv-conflict-revision">{current.rev}</strong> and holds:
        </p>
      ) : (
        <p>You edited revision {props.loadedRev}; the key has been deleted since.</p>
      )}
      {current.shown === undefined ? null : current.shown.kind === "text" ? (
        <pre className="kv-preview" data-testid="kv-conflict-value">
          {current.shown.text}
        </pre>
      ) : (
        <p className="muted">
          ({current.shown.kind} value, {sizeText(current.shown.bytes)})
        </p>
      )}
      <p className="muted">Your edit is kept in the editor above.</p>
      <div className="kv-actions">
        <button type="button" className="btn" onClick={props.onTheirs} data-testid="kv-theirs">
          Use theirs
        </button>
        <button
          type="button"
          className="btn danger"
          disabled={props.busy}
          onClick={props.onOverwrite}
          data-testid="kv-overwrite"
        >
          Overwrite
        </button>
      </div>
    </section>
  );
}
