import type { AgentWorkClient } from "../../client/agent-work.js";
import type { CatalogClient, RegistrationInput } from "../../client/catalog.js";
import { ApiError } from "../../client/errors.js";
import { webServiceName, type Assignment } from "../../model/app.js";
import type { Instance } from "./instance.js";

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The catalog entry of an instance, while it should get traffic: a web instance of the formation
 * that is not draining. The router sends it requests once its check passes.
 */
export function webRegistration(
  a: Assignment,
  at: { node: string; address: string; port: number; source: string },
): RegistrationInput | undefined {
  if (a.processType !== "web" || a.kind !== "run" || a.desired !== "running") return undefined;
  return {
    service: webServiceName(a.app),
    id: a.id,
    node: at.node,
    address: at.address,
    port: at.port,
    tags: ["web", `v${a.release}`],
    meta: { app: a.app, release: String(a.release), process: at.source },
    checks: [
      {
        id: "http",
        type: "http",
        path: a.healthPath,
        interval: "1s",
        timeout: "2s",
        expect: "<500",
      },
    ],
  };
}

/**
 * What the server hears from the agent's instance runner: statuses that changed, catalog entries
 * in step with the instances, records of removed instances deleted. Each pass stops at the first
 * failure (the server is away) and the next pass picks up where it stopped; a failing kind of
 * call is logged once, and once more when it works again.
 */
export class Reporter {
  /** Instances whose status the server has not heard yet. */
  readonly dirty = new Set<string>();
  /** What the catalog holds per instance as far as we know: a registration's JSON, "" = absent. */
  readonly registered = new Map<string, string>();
  /** Status records to delete once their instance is gone. */
  readonly recordsToDelete = new Set<string>();
  private reportFailing = false;
  private catalogFailing = false;

  constructor(
    private readonly d: {
      work: AgentWorkClient;
      catalog: CatalogClient;
      log: (line: string) => void;
      /** Aborted when the runner stops. */
      signal: AbortSignal;
      instances: ReadonlyMap<string, Instance>;
      /** Instances being removed: their catalog entries are the removal's business. */
      removing: ReadonlyMap<string, unknown>;
    },
  ) {}

  private get stopped(): boolean {
    return this.d.signal.aborted;
  }

  /** Report statuses, keep the catalog in step, delete records. */
  async pass(): Promise<void> {
    await this.reportStatuses();
    await this.syncCatalog();
    await this.deleteRecords();
  }

  private async reportStatuses(): Promise<void> {
    for (const id of [...this.dirty]) {
      const inst = this.d.instances.get(id);
      this.dirty.delete(id);
      if (inst === undefined || this.stopped) continue;
      try {
        await this.d.work.reportInstance(inst.status(), this.d.signal);
        if (this.reportFailing) {
          this.reportFailing = false;
          this.d.log("agent: reporting instance status again");
        }
      } catch (err) {
        if (this.stopped) return;
        // 404: its assignment is gone; the watch removes the instance.
        if (err instanceof ApiError && err.status === 404) continue;
        this.dirty.add(id);
        if (!this.reportFailing) {
          this.reportFailing = true;
          this.d.log(`agent: cannot report instance status (${message(err)}); will retry`);
        }
        return;
      }
    }
  }

  private async syncCatalog(): Promise<void> {
    for (const inst of [...this.d.instances.values()]) {
      if (this.stopped || this.d.removing.has(inst.id)) continue;
      const reg = inst.registration();
      const want = reg === undefined ? "" : JSON.stringify(reg);
      if (this.registered.get(inst.id) === want) continue;
      try {
        if (reg !== undefined) {
          await this.d.catalog.register(reg);
        } else if (inst.assignment.processType === "web") {
          // Draining (or stopped): out of the router, the process keeps running.
          await this.d.catalog
            .deregister(webServiceName(inst.assignment.app), inst.id)
            .catch((err: unknown) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
        }
        this.registered.set(inst.id, want);
        if (this.catalogFailing) {
          this.catalogFailing = false;
          this.d.log("agent: catalog updates work again");
        }
      } catch (err) {
        if (this.stopped) return;
        if (!this.catalogFailing) {
          this.catalogFailing = true;
          this.d.log(
            `agent: cannot update the catalog for ${inst.id} (${message(err)}); will retry`,
          );
        }
        return;
      }
    }
  }

  private async deleteRecords(): Promise<void> {
    for (const id of [...this.recordsToDelete]) {
      if (this.d.instances.has(id)) {
        this.recordsToDelete.delete(id); // assigned again meanwhile: its record is live
        continue;
      }
      try {
        await this.d.work.deleteInstance(id);
        this.recordsToDelete.delete(id);
      } catch (err) {
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          this.recordsToDelete.delete(id);
          continue;
        }
        return;
      }
    }
  }
}
