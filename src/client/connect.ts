import type { AppConnectionView, ConnectAppAnswer, ConnectAppRequest } from "../model/connect.js";
import type { GantryClient } from "./client.js";

const path = (app: string): string => `/v1/apps/${encodeURIComponent(app)}/connect`;

/** Connect an app to an outside repo (apps:connect): answers the webhook URL and its secret. */
export function connectApp(
  client: GantryClient,
  app: string,
  req: ConnectAppRequest,
): Promise<ConnectAppAnswer> {
  return client.json("POST", path(app), { body: req });
}

/** The app's connection (never the secret). */
export function appConnection(client: GantryClient, app: string): Promise<AppConnectionView> {
  return client.json("GET", path(app));
}

/** Disconnect the app: webhooks are refused and nothing polls the repo. */
export function disconnectApp(
  client: GantryClient,
  app: string,
): Promise<{ app: string; disconnected: string }> {
  return client.json("DELETE", path(app));
}
