import { api, seg } from "../api";
import { useCan } from "../session";
import { ConfirmButton } from "./confirm";
import type { NodeRow } from "./fleet-types";

/**
 * "Drain" (or "Undrain" while draining) behind a confirmation, for tokens that may write the
 * node (`PUT`/`DELETE /v1/nodes/:name/drain`); nothing for the others.
 */
export function DrainButton(props: { node: NodeRow; onDone?: () => void }) {
  const can = useCan();
  const { name } = props.node;
  if (!can("node", name, "write")) return null;
  const draining = props.node.status === "draining" || props.node.draining === true;
  const path = `/v1/nodes/${seg(name)}/drain`;
  return draining ? (
    <ConfirmButton
      label="Undrain"
      title={`Stop draining ${name}?`}
      confirmLabel="Undrain"
      testId={`node-undrain-${name}`}
      action={async () => {
        await api(path, { method: "DELETE" });
        props.onDone?.();
      }}
    >
      <p>{name} takes new instances again.</p>
    </ConfirmButton>
  ) : (
    <ConfirmButton
      label="Drain"
      title={`Drain ${name}?`}
      confirmLabel="Drain"
      danger
      testId={`node-drain-${name}`}
      action={async () => {
        await api(path, { method: "PUT" });
        props.onDone?.();
      }}
    >
      <p>
        {name} takes no new instances, and each of its {props.node.instances} instances starts on
        another node, then stops here once its replacement passes its health check. Undo with
        Undrain.
      </p>
    </ConfirmButton>
  );
}
