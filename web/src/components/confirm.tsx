import { useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api";
import { Alert } from "./page";

/**
 * A button that asks before it acts: a modal dialog (Esc or Cancel closes it, focus starts on
 * Cancel), then runs `action`, showing its error in the dialog if it fails.
 */
export function ConfirmButton(props: {
  label: ReactNode;
  title: string;
  children?: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  action: () => Promise<unknown>;
  className?: string;
  testId?: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className={props.className ?? (props.danger === true ? "btn danger" : "btn")}
        data-testid={props.testId}
        onClick={() => setOpen(true)}
      >
        {props.label}
      </button>
      {open ? (
        <Confirm
          title={props.title}
          confirmLabel={props.confirmLabel ?? "Confirm"}
          danger={props.danger ?? false}
          action={props.action}
          onClose={() => setOpen(false)}
        >
          {props.children}
        </Confirm>
      ) : null}
    </>
  );
}

export function Confirm(props: {
  title: string;
  confirmLabel: string;
  danger: boolean;
  action: () => Promise<unknown>;
  onClose: () => void;
  children?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await props.action();
      props.onClose();
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} className="dialog" data-testid="confirm" onClose={props.onClose}>
      <h2>{props.title}</h2>
      {props.children}
      <Alert message={error} />
      <div className="dialog-actions">
        <button type="button" className="btn" autoFocus onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          className={props.danger ? "btn danger" : "btn primary"}
          disabled={busy}
          onClick={() => void run()}
        >
          {busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
