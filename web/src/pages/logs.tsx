import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Logs() {
  return (
    <Page title="Logs" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
