import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Converge() {
  return (
    <Page title="Converge runs" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
