import { GantryError } from "../errors.js";

/** The requested revision has been compacted away; `compactRevision` is the oldest still readable. */
export class CompactedError extends GantryError {
  readonly compactRevision: number;
  constructor(requested: number, compactRevision: number) {
    super(
      "compacted",
      `revision ${requested} has been compacted; the oldest available revision is ${compactRevision}`,
      { status: 410 },
    );
    this.compactRevision = compactRevision;
  }
}

/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends GantryError {
  readonly currentRevision: number;
  constructor(requested: number, currentRevision: number) {
    super(
      "future_revision",
      `revision ${requested} is in the future; the current revision is ${currentRevision}`,
      { status: 400 },
    );
    this.currentRevision = currentRevision;
  }
}

export class LeaseNotFoundError extends GantryError {
  readonly leaseId: string;
  constructor(leaseId: string) {
    super("lease_not_found", `lease ${leaseId} not found (expired or revoked)`, { status: 404 });
    this.leaseId = leaseId;
  }
}

/** A key, value or transaction exceeds the store's limits. */
export class TooLargeError extends GantryError {
  constructor(message: string, field?: string) {
    super("too_large", message, field === undefined ? { status: 413 } : { status: 413, field });
  }
}

/** The backend cannot be reached, has no quorum, or the store was closed. */
export class UnavailableError extends GantryError {
  constructor(message: string, cause?: unknown, code = "unavailable") {
    super(code, message, { status: 503, cause });
  }
}

/**
 * A majority of the etcd members is gone: nothing can be written until enough of them are back,
 * while reads are still served (stale) from a member that answers. An UnavailableError, so
 * whatever retries on unavailability retries on this too; its code is `no_quorum`.
 */
export class NoQuorumError extends UnavailableError {
  readonly reachable: number;
  readonly voters: number;
  constructor(reachable: number, voters: number, cause?: unknown) {
    super(
      `the control plane has lost quorum: ${reachable} of ${voters} servers reachable; read-only`,
      cause,
      "no_quorum",
    );
    this.reachable = reachable;
    this.voters = voters;
  }
}

/** Another process holds the embedded store's data directory. */
export class StoreLockedError extends GantryError {
  constructor(dir: string, holder: string) {
    super(
      "store_locked",
      `the data directory ${dir} is in use by another Gantry process (${holder}); stop it first or choose another --data-dir`,
      { status: 503 },
    );
  }
}
