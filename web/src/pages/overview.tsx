import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Overview() {
  return (
    <Page title="Overview" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
