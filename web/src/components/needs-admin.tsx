import { Page } from "./page";

/** What a page for admins shows to another token opened by its URL. */
export function NeedsAdmin(props: { title: string }) {
  return (
    <Page title={props.title} ready={true}>
      <p className="empty" data-testid="needs-admin">
        This page needs an admin token. Log in with one (or ask an admin to run{" "}
        <code>gantry tokens:create NAME --role admin</code>).
      </p>
    </Page>
  );
}
