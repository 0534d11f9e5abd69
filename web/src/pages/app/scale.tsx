import { useEffect, useState } from "react";
import { api, ApiError, seg } from "../../api";
import { Badge } from "../../components/bits";
import { useLive } from "../../hooks";
import { ofApp, type AppInfo } from "./types";
import { changedCounts, processTypes } from "./logic";

interface ScaleView {
  id: string;
  changes: Record<string, number>;
  status: "running" | "succeeded" | "failed";
  error?: string;
  log: string[];
}

/** A number per process type and "Apply": PUT /v1/apps/:app/formation, like `ps:scale`. */
export function ScaleControls(props: { app: string; info: AppInfo }) {
  const { app, info } = props;
  const types = processTypes(info);
  const formationKey = JSON.stringify(info.formation);
  const initial = (): Record<string, string> =>
    Object.fromEntries(types.map((t) => [t, String(info.formation[t] ?? 0)]));
  const [draft, setDraft] = useState<Record<string, string>>(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [asked, setAsked] = useState<string | undefined>();
  // A formation changed elsewhere (the CLI, another tab) resets the inputs to it.
  useEffect(() => setDraft(initial()), [formationKey, types.join(",")]);
  const scaling = useLive<ScaleView>(
    asked === undefined ? null : `/v1/apps/${seg(app)}/scaling`,
    ["apps"],
    ofApp(app),
  );
  const changes = changedCounts(info.formation, draft);
  const apply = async (): Promise<void> => {
    if (typeof changes === "string") return setError(changes);
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<AppInfo & { scaling?: string }>(`/v1/apps/${seg(app)}/formation`, {
        method: "PUT",
        body: changes,
      });
      setAsked(answer.scaling);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  if (types.length === 0)
    return <p className="empty">Nothing to scale yet: the first release brings process types.</p>;
  const s = scaling.data?.id === asked ? scaling.data : undefined;
  return (
    <form
      className="panel app-scale"
      aria-label="scale"
      onSubmit={(e) => {
        e.preventDefault();
        void apply();
      }}
    >
      {types.map((t) => (
        <label key={t} className="app-scale-type">
          <span>{t}</span>
          <input
            type="number"
            min={0}
            max={100}
            step={1}
            inputMode="numeric"
            data-testid={`scale-${t}`}
            value={draft[t] ?? "0"}
            onChange={(e) => setDraft((d) => ({ ...d, [t]: e.target.value }))}
          />
        </label>
      ))}
      <button
        type="submit"
        className="btn primary"
        data-testid="scale-apply"
        disabled={busy || (typeof changes !== "string" && Object.keys(changes).length === 0)}
      >
        {busy ? "Applying…" : "Apply"}
      </button>
      <span className="app-scale-status" role="status">
        {s === undefined ? null : (
          <>
            <Badge state={s.status === "running" ? "deploying" : s.status}>
              {s.status === "running" ? "scaling" : s.status}
            </Badge>{" "}
            <span className="muted">{s.error ?? s.log[s.log.length - 1] ?? ""}</span>
          </>
        )}
      </span>
      {error === undefined ? null : (
        <p className="error-box app-scale-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
