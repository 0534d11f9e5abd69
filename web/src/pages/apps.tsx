import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Apps() {
  return (
    <Page title="Apps" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
