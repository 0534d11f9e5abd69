import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function NodePage() {
  return (
    <Page title="Node" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
