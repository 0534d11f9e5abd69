import { useEffect, useState } from "react";
import { Link, Route, Router, Switch, useLocation } from "wouter";
import { api, ApiError, setCsrf, whenUnauthorized } from "./api";
import { useLiveStatus } from "./hooks";
import { live } from "./live";
import { SessionContext, useCan, useSession, type Session } from "./session";
import { Login } from "./pages/login";
import { routes } from "./routes";

/** The dashboard: the session first (or the login page), then the shell around the pages. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const load = (): void => {
    api<Session>("/v1/ui/session")
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setSession(null);
        else setTimeout(load, 2000);
      });
  };
  useEffect(() => {
    whenUnauthorized(() => {
      live.stop();
      setSession(null);
    });
    load();
  }, []);
  useEffect(() => {
    if (session) live.start();
  }, [session]);

  return (
    <Router base="/ui">
      {session === undefined ? (
        <div className="boot" aria-busy="true" />
      ) : session === null ? (
        <Login onLoggedIn={load} />
      ) : (
        <SessionContext.Provider value={session}>
          <Shell onLogout={() => setSession(null)} />
        </SessionContext.Provider>
      )}
    </Router>
  );
}

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: "/", label: "Overview" },
  { href: "/apps", label: "Apps" },
  { href: "/nodes", label: "Nodes" },
  { href: "/services", label: "Services" },
  { href: "/kv", label: "Keys" },
  { href: "/converge", label: "Converge" },
  { href: "/stack", label: "Stack" },
  { href: "/audit", label: "Audit", admin: true },
  { href: "/tokens", label: "Tokens", admin: true },
];

function Shell(props: { onLogout: () => void }) {
  const session = useSession();
  const can = useCan();
  const [location] = useLocation();
  const logout = async (): Promise<void> => {
    await api("/v1/ui/logout", { method: "POST" }).catch(() => undefined);
    live.stop();
    props.onLogout();
  };
  const active = (href: string): boolean =>
    href === "/" ? location === "/" : location === href || location.startsWith(href + "/");
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Gantry
        </Link>
        <nav aria-label="main">
          {NAV.filter((n) => n.admin !== true || can("admin", "", "read")).map((n) => (
            <Link
              key={n.href}
              href={n.href}
              className={active(n.href) ? "nav-link active" : "nav-link"}
              aria-current={active(n.href) ? "page" : undefined}
            >
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="top-right">
          <LiveIndicator />
          <span className="who" title={`token ${session.tokenId}`}>
            {session.name}
          </span>
          <button type="button" className="btn link" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          {routes.map((r) => (
            <Route key={r.path} path={r.path} component={r.component} />
          ))}
          <Route>
            <p className="empty">
              No such page. <Link href="/">Back to the overview</Link>
            </p>
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function LiveIndicator() {
  const state = useLiveStatus();
  const label =
    state === "live" ? "live" : state === "connecting" ? "connecting…" : "reconnecting…";
  return (
    <span
      className={`live ${state}`}
      data-testid="live-status"
      data-state={state}
      role="status"
      title={
        state === "live"
          ? "updates arrive as they happen"
          : "the connection to the server is lost; the page resumes where it left off when it is back"
      }
    >
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
