import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Tokens() {
  return (
    <Page title="Tokens" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
