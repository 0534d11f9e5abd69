import * as z from "zod";

/**
 * Gantry servers (the control plane's processes) and the view `GET /v1/cluster/servers` gives
 * of them with their etcd members (docs/ha.md, "gantry servers").
 */

/** Server names are host-name-like, optionally with `:port` (the default is `<host>:<API port>`). */
export const ServerNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/,
    "must be letters, digits and _ . : - (starting with a letter or digit), at most 63 characters",
  );

/** What `sys/servers/<name>` holds, on a lease (TTL 10 s) its server keeps alive. */
export const ServerRecordSchema = z.object({
  name: ServerNameSchema,
  /** Where its API answers (what other servers and clients use). */
  apiUrl: z.string().max(512),
  /** Its etcd member, when the server runs one (`gantry server --cluster-init` / `--join`). */
  memberId: z.string().max(32).optional(),
  etcdClientUrl: z.string().max(512).optional(),
  etcdPeerUrl: z.string().max(512).optional(),
  pid: z.int().min(0),
  startedAt: z.string().max(64),
});
export type ServerRecord = z.infer<typeof ServerRecordSchema>;

/** The lease of `sys/servers/<name>`, in seconds: a dead server's record goes this long after. */
export const SERVER_RECORD_TTL = 10;

export const SERVER_ROLES = ["leader", "follower", "learner", "unknown"] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

/** One row of `gantry servers`: an etcd member and the Gantry server registered with it. */
export const ServerRowSchema = z.object({
  /** The Gantry server's name, else the etcd member's name ("" for a learner not started yet). */
  name: z.string(),
  /** etcd's member id (decimal); null for the embedded store, or a server that is no member. */
  memberId: z.string().nullable(),
  /** From the member's own status: the raft leader, a follower, a learner; unknown when silent. */
  role: z.enum(SERVER_ROLES),
  health: z.enum(["healthy", "unreachable"]),
  /** When its status last answered (ISO), as this server saw it; null: never since it started. */
  lastContact: z.string().nullable(),
  raftIndex: z.number().nullable(),
  /** The Gantry server registered with this member; null when none (etcd someone else runs). */
  apiUrl: z.string().nullable(),
  peerUrl: z.string().nullable(),
  clientUrl: z.string().nullable(),
  /** Whether this server leads the controllers. */
  controllers: z.boolean(),
});
export type ServerRow = z.infer<typeof ServerRowSchema>;

/** `GET /v1/cluster/servers`. */
export const ClusterServersSchema = z.object({
  servers: z.array(ServerRowSchema),
  /** The server leading the controllers: its name, else its leader id; null when none leads. */
  controllers: z.string().nullable(),
  /** Voting members, how many answer, and whether they are a majority. */
  quorum: z.object({ voters: z.number(), reachable: z.number(), ok: z.boolean() }),
  store: z.enum(["etcd", "sqlite"]),
});
export type ClusterServers = z.infer<typeof ClusterServersSchema>;

/** How a server names itself in `sys/leader/controllers` (what `gantry status` shows). */
export const controllerId = (apiUrl: string, pid: number): string => `${apiUrl} (pid ${pid})`;
