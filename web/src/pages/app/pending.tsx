import { ErrorBox, Skeleton } from "../../components/page";
import type { Live } from "../../hooks";

/** Before a tab's data: skeleton rows of the table's height, or the API's refusal. */
export function Pending(props: { live: Pick<Live<unknown>, "error">; rows: number }) {
  return props.live.error === undefined ? (
    <Skeleton rows={props.rows} />
  ) : (
    <ErrorBox error={props.live.error} />
  );
}
