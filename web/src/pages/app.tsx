import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function AppPage() {
  return (
    <Page title="App" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
