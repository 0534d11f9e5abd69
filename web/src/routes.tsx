import type { ComponentType } from "react";
import { Overview } from "./pages/overview";
import { Apps } from "./pages/apps";
import { AppPage } from "./pages/app";
import { Logs } from "./pages/logs";
import { Nodes } from "./pages/nodes";
import { NodePage } from "./pages/node";
import { Services } from "./pages/services";
import { Kv } from "./pages/kv";
import { Converge } from "./pages/converge";
import { Stack } from "./pages/stack";
import { Audit } from "./pages/audit";
import { Tokens } from "./pages/tokens";

/** Every page and its path under /ui (wouter patterns; the first match wins). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const routes: { path: string; component: ComponentType<any> }[] = [
  { path: "/", component: Overview },
  { path: "/apps", component: Apps },
  { path: "/apps/:app/logs", component: Logs },
  { path: "/apps/:app", component: AppPage },
  { path: "/apps/:app/:tab", component: AppPage },
  { path: "/nodes", component: Nodes },
  { path: "/nodes/:name", component: NodePage },
  { path: "/services", component: Services },
  { path: "/kv", component: Kv },
  { path: "/kv/*", component: Kv },
  { path: "/converge", component: Converge },
  { path: "/stack", component: Stack },
  { path: "/audit", component: Audit },
  { path: "/tokens", component: Tokens },
];
