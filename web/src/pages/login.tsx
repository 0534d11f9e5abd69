import { useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import { Alert } from "../components/page";

/** Log in with a token (or arrive here from `gantry ui`'s one-time link, which logs in by itself). */
export function Login(props: { onLoggedIn: () => void }) {
  const linkError = new URLSearchParams(location.search).get("error") === "link";
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(
    linkError
      ? "That login link was already used or has expired. Run `gantry ui` for a new one."
      : undefined,
  );
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api("/v1/ui/login", { method: "POST", body: { token: token.trim() } });
      history.replaceState(null, "", "/ui/");
      props.onLoggedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Gantry</h1>
        <p className="muted">
          Run <code>gantry ui</code> for a one-time login link, or paste a token.
        </p>
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <Alert message={error} />
        <button type="submit" className="btn primary" disabled={busy || token.trim() === ""}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
