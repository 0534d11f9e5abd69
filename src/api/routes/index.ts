import type { ApiDeps, RouteDef } from "../server.js";
import { acmeRoutes } from "./acme.js";
import { addressPlanRoutes } from "./address-plan.js";
import { agentWorkRoutes } from "./agent-work.js";
import { appReleaseRoutes } from "./apps-releases.js";
import { appRuntimeRoutes } from "./apps-runtime.js";
import { appRoutes } from "./apps.js";
import { auditRoutes } from "./audit.js";
import { buildRoutes } from "./builds.js";
import { catalogRoutes } from "./catalog.js";
import { certBundleRoutes } from "./cert-bundle.js";
import { certRoutes } from "./certs.js";
import { catalogRegistrationRoutes } from "./catalog-registrations.js";
import { checkRoutes } from "./checks.js";
import { clusterServerRoutes } from "./cluster-servers.js";
import { clusterJoinRoutes } from "./cluster-join.js";
import { connectRoutes } from "./connect.js";
import { convergeRoutes } from "./converge.js";
import { cronRoutes } from "./cron.js";
import { eventRoutes } from "./events.js";
import { gitRoutes } from "./git.js";
import { gitHookRoutes } from "./git-hooks.js";
import { healthRoutes } from "./health.js";
import { joinTokenRoutes } from "./join-tokens.js";
import { kvRoutes } from "./kv.js";
import { nodeRoutes } from "./nodes.js";
import { notificationRoutes } from "./notifications.js";
import { registryRoutes } from "./registry.js";
import { openapiRoutes } from "./openapi.js";
import { pipelineRoutes } from "./pipelines.js";
import { poolRoutes } from "./pools.js";
import { reviewRoutes } from "./reviews.js";
import { sessionRoutes } from "./sessions.js";
import { stackRoutes } from "./stack.js";
import { stackAppRoutes } from "./stack-apps.js";
import { stackGitRoutes } from "./stack-git.js";
import { stackSourceRoutes } from "./stack-source.js";
import { stackSyncRoutes } from "./stack-sync.js";
import { tokenRoutes } from "./tokens.js";
import { txnRoutes } from "./txn.js";
import { uiAuthRoutes } from "./ui-auth.js";
import { watchRoutes } from "./watch.js";

/** Every API route, in one list (the OpenAPI document is generated from it). */
export function registerRoutes(deps: ApiDeps): RouteDef[] {
  const routes: RouteDef[] = [
    ...healthRoutes(deps),
    ...tokenRoutes(deps),
    ...joinTokenRoutes(deps),
    ...clusterJoinRoutes(deps),
    ...auditRoutes(deps),
    ...kvRoutes(deps),
    ...txnRoutes(deps),
    ...sessionRoutes(deps),
    ...watchRoutes(deps),
    ...eventRoutes(deps),
    ...catalogRoutes(deps),
    ...catalogRegistrationRoutes(deps),
    ...checkRoutes(deps),
    ...nodeRoutes(deps),
    ...clusterServerRoutes(deps),
    ...appRoutes(deps),
    ...appReleaseRoutes(deps),
    ...appRuntimeRoutes(deps),
    ...certRoutes(deps),
    ...acmeRoutes(deps),
    ...certBundleRoutes(deps),
    ...agentWorkRoutes(deps),
    ...buildRoutes(deps),
    // Before gitRoutes: /git/_stack.git is the stack's repo, not an app's.
    ...stackGitRoutes(deps),
    ...gitRoutes(deps),
    ...connectRoutes(deps),
    ...gitHookRoutes(deps),
    ...convergeRoutes(deps),
    ...stackRoutes(deps),
    ...stackAppRoutes(deps),
    ...stackSyncRoutes(deps),
    ...stackSourceRoutes(deps),
    ...registryRoutes(deps),
    ...pipelineRoutes(deps),
    ...reviewRoutes(deps),
    ...poolRoutes(deps),
    ...addressPlanRoutes(deps),
    ...cronRoutes(deps),
    ...notificationRoutes(deps),
    ...uiAuthRoutes(deps),
  ];
  // The document describes the final list, itself included: it reads `routes` when first asked.
  routes.push(...openapiRoutes(() => routes));
  return routes;
}
