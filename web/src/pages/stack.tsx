import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Stack() {
  return (
    <Page title="Stack" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
