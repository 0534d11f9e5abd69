/**
 * Size limits shared by both backends, so a write that one accepts the other accepts too.
 * etcd refuses requests over 1.5 MiB by default (--max-request-bytes); a value limit of
 * 1.25 MiB leaves room for the key and the request framing under that default.
 */
export const MAX_KEY_BYTES = 4096;
export const MAX_VALUE_BYTES = 1_310_720;
/** Total bytes of keys and values written by one transaction. */
export const MAX_TXN_BYTES = 1_441_792;
/** Operations in one transaction (etcd's default --max-txn-ops is 128). */
export const MAX_TXN_OPS = 128;
/** Longest lease TTL in seconds (etcd caps at 9,000,000,000; a year is plenty). */
export const MAX_LEASE_TTL = 31_536_000;
