import { useEffect, type ReactNode } from "react";
import type { ApiError } from "../api";

/**
 * A page: its title (also the document's), optional actions on the right, and `data-ready`
 * once its first data arrived (tests and bench:ui wait on it).
 */
export function Page(props: {
  title: ReactNode;
  /** The plain-text title for the browser tab, when `title` is not a string. */
  docTitle?: string;
  ready: boolean;
  actions?: ReactNode;
  error?: ApiError | undefined;
  children: ReactNode;
}) {
  const text = props.docTitle ?? (typeof props.title === "string" ? props.title : "");
  useEffect(() => {
    document.title = text === "" ? "Gantry" : `${text} · Gantry`;
  }, [text]);
  return (
    <section className="page" data-ready={props.ready ? "true" : "false"}>
      <header className="page-head">
        <h1>{props.title}</h1>
        {props.actions === undefined ? null : <div className="page-actions">{props.actions}</div>}
      </header>
      {props.error === undefined ? null : <ErrorBox error={props.error} />}
      {props.children}
    </section>
  );
}

export function ErrorBox(props: { error: { message: string; code?: string } }) {
  return (
    <div className="error-box" role="alert">
      {props.error.message}
      {props.error.code === undefined ? null : <code className="muted"> ({props.error.code})</code>}
    </div>
  );
}

/** A refusal or failure in words (nothing when there is none). */
export function Alert(props: { message: string | undefined }) {
  if (props.message === undefined) return null;
  return (
    <p className="error-box" role="alert">
      {props.message}
    </p>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

/** Grey placeholder rows of a fixed height, so the layout does not jump when data arrives. */
export function Skeleton(props: { rows?: number }) {
  return (
    <div className="skeleton" aria-busy="true" aria-label="loading">
      {Array.from({ length: props.rows ?? 3 }, (_, i) => (
        <div key={i} className="skeleton-row" />
      ))}
    </div>
  );
}
