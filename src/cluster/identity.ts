/**
 * DATA_DIR/cluster.json (mode 0600): which etcd cluster this server's data directory belongs to
 * and under which member, written once its etcd first ran. Its presence makes a start without
 * cluster flags a restart of that member, and refuses `--cluster-init` on the directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { GantryError } from "../errors.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";

export const ClusterIdentitySchema = z.object({
  clusterId: z.string().min(1),
  memberId: z.string().min(1),
  name: z.string().min(1),
  peerUrl: z.string().min(1),
  clientUrl: z.string().min(1),
  createdAt: z.string().min(1),
});

export type ClusterIdentity = z.infer<typeof ClusterIdentitySchema>;

export const identityPath = (dataDir: string): string => join(dataDir, "cluster.json");

/** The data directory's cluster identity; undefined when it has none. */
export function readIdentity(dataDir: string): ClusterIdentity | undefined {
  const file = identityPath(dataDir);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new GantryError("cluster_identity", `${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ClusterIdentitySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GantryError(
      "cluster_identity",
      `${file}: ${issue?.path.join(".") || "(top)"}: ${issue?.message}; restore it or wipe DATA_DIR/etcd and DATA_DIR/cluster.json and join again`,
    );
  }
  return parsed.data;
}

export function writeIdentity(dataDir: string, id: ClusterIdentity): void {
  writeFileAtomic(
    identityPath(dataDir),
    JSON.stringify(ClusterIdentitySchema.parse(id), null, 2) + "\n",
    0o600,
  );
}
