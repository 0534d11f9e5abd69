import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Audit() {
  return (
    <Page title="Audit log" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
