/**
 * Where each kind of record lives in the Store. One table, so the layout is visible in one place:
 * components watch these prefixes instead of calling each other.
 */
export const K = {
  /** Users' own key/value data: `kv/<user key>`. */
  kv: "kv/",
  /** API tokens by id: `sys/tokens/<id>`. */
  tokens: "sys/tokens/",
  /** The audit log: `sys/audit/<time>-<server>-<seq>`. */
  audit: "sys/audit/",
  /** Dashboard login links (one use, 5 min lease): `sys/ui-links/<sha256(code)>`. */
  uiLinks: "sys/ui-links/",
  /** Dashboard sessions (12 h lease): `sys/ui-sessions/<sha256(cookie value)>`. */
  uiSessions: "sys/ui-sessions/",
  /** Service instances: `catalog/<service>/<instance id>`. */
  catalog: "catalog/",
  /** Check results per instance: `health/<service>/<instance id>/<check id>`. */
  health: "health/",
  /** Sessions: `sessions/<id>` (bound to a lease). */
  sessions: "sessions/",
  /** Which session a lease belongs to: `sys/session-leases/<lease id>` → session id (same lease). */
  sessionLeases: "sys/session-leases/",
  /** Registered nodes: `nodes/<name>`. */
  nodes: "nodes/",
  /** Labels a node joined with (its join token's `--labels`): `sys/node-labels/<name>`. */
  nodeLabels: "sys/node-labels/",
  /** Nodes being drained (no new instances; theirs move elsewhere): `sys/drains/<name>`. */
  drains: "sys/drains/",
  /** Apps and their records (see src/model/app.ts for each record's schema). */
  apps: "apps/",
  config: "config/",
  /** An app's TEST config (issue 15: what its build's tests run with): `config-test/<app>`. */
  testConfig: "config-test/",
  builds: "builds/",
  releases: "releases/",
  deploys: "deploys/",
  /** The formation's last change (`ps:scale`) and its progress: `scales/<app>`. */
  scales: "scales/",
  /** Desired instances per node: `assignments/<node>/<instance id>`. */
  assignments: "assignments/",
  /** Actual instance state reported by agents: `instances/<instance id>`. */
  instances: "instances/",
  /** Converge by agents (src/model/converge.ts): the states bundle `converge/states`. */
  convergeStates: "converge/states",
  /** A node's converge settings (roles, vars, labels): `converge/nodes/<node>`. */
  convergeNodes: "converge/nodes/",
  /** A node's last converge runs, newest first: `converge/runs/<node>`. */
  convergeRuns: "converge/runs/",
  /** What a stack manages (src/model/stack.ts): `stack/items/<kind>/<name>`. */
  stackItems: "stack/items/",
  /** Node pools (src/model/pool.ts): the pool as declared, `pools/specs/<name>`. */
  poolSpecs: "pools/specs/",
  /** What the pool controller reports of a pool: `pools/status/<name>`. */
  poolStatus: "pools/status/",
  /** The controller's own record of each node it made: `pools/nodes/<pool>/<node>`. */
  poolNodes: "pools/nodes/",
  /** The address plan pools take their addresses from (`addressPlan` in gantry.yaml). */
  addressPlan: "sys/address-plan",
  /** Notification webhooks (src/model/notify.ts): `notify/hooks/<app:NAME|pipeline:NAME>/<id>`. */
  notifyHooks: "notify/hooks/",
  /** Payloads waiting for delivery: `notify/outbox/<ms>-<seq>`. */
  notifyOutbox: "notify/outbox/",
  /** The store revision the notifier has turned into outbox entries. */
  notifyCursor: "sys/notify/cursor",
  /** Pipelines (src/model/pipeline.ts): `pipelines/<name>`. */
  pipelines: "pipelines/",
  /** Which pipeline an app is a stage of (one at most): `sys/pipeline-apps/<app>` → name. */
  pipelineApps: "sys/pipeline-apps/",
  /** The stack's status, as `gantry stack:info` shows it. */
  stackInfo: "stack/info",
  /** Apps connected to an outside git repo (src/model/connect.ts): `connect/apps/<app>`. */
  connectApps: "connect/apps/",
  /** Webhook delivery ids seen (replays refused), on a day's lease: `connect/deliveries/<app>/<id>`. */
  connectDeliveries: "connect/deliveries/",
  /** Gantry servers (src/model/server.ts), each on a lease it renews: `sys/servers/<name>`. */
  servers: "sys/servers/",
  /** Scheduled jobs (src/model/cron.ts): `cron/jobs/<app>/<id>`. */
  cronJobs: "cron/jobs/",
  /** Their run records, one per tick acted on: `cron/runs/<app>/<id>/<tick>`. */
  cronRuns: "cron/runs/",
} as const;
