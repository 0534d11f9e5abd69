/**
 * What the app page reads from the API (src/model/app-views.ts and src/model/app.ts), as the
 * dashboard uses it: only the fields it shows.
 */

export interface ReleaseView {
  version: number;
  build?: string;
  image?: string;
  processTypes: Record<string, string>;
  configVersion: number;
  configNames: string[];
  description: string;
  createdAt: string;
  createdBy: string;
  status: "pending" | "deploying" | "active" | "failed" | "superseded" | "abandoned";
  error?: string;
}

export interface DeployView {
  app: string;
  release: number;
  previous: number;
  status: "pending" | "running" | "succeeded" | "failed";
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  log: string[];
  waiting?: { key: string; firstAt: string; lastAt: string };
}

export interface AppInfo {
  name: string;
  createdAt: string;
  createdBy: string;
  domains: string[];
  formation: Record<string, number>;
  currentRelease: number;
  gitUrl: string;
  url: string;
  runtime?: string;
  release?: ReleaseView;
  deploy?: Omit<DeployView, "log">;
  pinned?: { release: number; by: string; at: string };
}

// The API's own type (type-only: nothing of the server enters the bundle).
export type { PsEntry } from "../../../../src/model/app-views.js";

export interface BuildView {
  id: string;
  status: "building" | "succeeded" | "failed";
  commit: string;
  startedAt: string;
  finishedAt?: string;
  kind?: string;
  stack?: string;
  error?: string;
  createdBy: string;
}

export interface CertView {
  app: string;
  source: "manual" | "acme";
  domains: string[];
  issuer: string;
  notBefore: string;
  notAfter: string;
  lastError?: string;
  pending?: true;
}

/** What every tab gets from the page: the app's name and its info (live). */
export interface TabProps {
  app: string;
  info: AppInfo | undefined;
}

/** The app's state in one word, from its current release and last deploy. */
export function appState(info: AppInfo): string {
  if (info.deploy?.status === "running" || info.deploy?.status === "pending") return "deploying";
  if (info.deploy?.status === "failed") return "failed";
  if (info.currentRelease === 0) return "new";
  const instances = Object.values(info.formation).reduce((n, c) => n + c, 0);
  return instances === 0 ? "stopped" : "running";
}

/** Changes that concern one app (the topics apps, instances and certs are named by app). */
export const ofApp =
  (app: string) =>
  (c: { name: string }): boolean =>
    c.name === app;
