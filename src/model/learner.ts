import * as z from "zod";

/**
 * A server joining the cluster as an etcd learner, from its join until its promotion:
 * `sys/cluster/learners/<memberId>`. The join route writes it; promotion deletes it. Its
 * `addedAt` is how the next join tells a joiner that never started (and may be replaced) from
 * one that is still catching up.
 */
export const LEARNERS_PREFIX = "sys/cluster/learners/";

export const LearnerRecordSchema = z.strictObject({
  name: z.string(),
  peerUrl: z.string(),
  addedAt: z.string(),
});
export type LearnerRecord = z.infer<typeof LearnerRecordSchema>;

export const learnerKey = (memberId: string): string => `${LEARNERS_PREFIX}${memberId}`;
