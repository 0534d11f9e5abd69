import type { ConnectAnswer, ConnectRequest } from "../model/stack-source.js";
import type { GantryClient } from "./client.js";

/** Follow an outside repo (stack:connect): the server polls it and syncs on the webhook. */
export function connectStack(client: GantryClient, req: ConnectRequest): Promise<ConnectAnswer> {
  return client.json("PUT", "/v1/stack/source", { body: req });
}

/** Stop following: the stack comes from pushes to the hosted repo again. */
export function disconnectStack(client: GantryClient): Promise<{ followed: string | null }> {
  return client.json("DELETE", "/v1/stack/source");
}
