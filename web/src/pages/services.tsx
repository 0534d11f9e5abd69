import { Page } from "../components/page";

/** Placeholder: built by its owner (see docs/ui.md). */
export function Services() {
  return (
    <Page title="Services" ready={true}>
      <p className="empty">Coming soon.</p>
    </Page>
  );
}
