import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Nodes() {
  return (
    <Page title="Nodes" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
