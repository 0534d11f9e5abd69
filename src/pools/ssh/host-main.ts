/**
 * `node gantry-agent.mjs pool-host ROOT` on an `ssh` pool's host: one request (JSON on stdin)
 * against the nodes in ROOT, one answer (a JSON line on stdout). Errors are answers too, with
 * their stable code, so the provider raises the same error the host did (`conflict`).
 */
import { isGantryError } from "../../errors.js";
import { createNode } from "./host-create.js";
import { destroyNode, listNodes } from "./host-nodes.js";
import type { HostNode, HostRequest, HostResponse } from "./protocol.js";

export async function hostMain(root: string | undefined): Promise<void> {
  let answer: HostResponse;
  try {
    if (root === undefined || !root.startsWith("/"))
      throw new Error("pool-host needs an absolute ROOT");
    let input = "";
    for await (const chunk of process.stdin) input += String(chunk);
    answer = { ok: await handle(root, JSON.parse(input) as HostRequest) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    answer = isGantryError(err)
      ? { error: { ...err.toJSON() } }
      : { error: { code: "host_failed", message } };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}

async function handle(root: string, req: HostRequest): Promise<HostNode[]> {
  switch (req.op) {
    case "create":
      // The bundle running this is the agent the node gets a copy of.
      return [await createNode(root, req, process.argv[1]!)];
    case "destroy":
      await destroyNode(root, req.name, req.stopGraceMs);
      return [];
    case "list":
      return listNodes(root, req);
  }
}
