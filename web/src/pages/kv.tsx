import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Kv() {
  return (
    <Page title="Keys" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
