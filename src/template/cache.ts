import {
  PENDING,
  depId,
  type DataSource,
  type Dependency,
  type KeyEntry,
  type Pending,
  type ServiceInstance,
  type ServiceSummary,
} from "./types.js";

/** What a dependency's value is: a key's value (undefined: absent) or a list. */
export type DepValue = string | undefined | KeyEntry[] | ServiceInstance[] | ServiceSummary[];

/**
 * The last value seen of each dependency (consul-template calls this the brain). Renders read
 * it synchronously; what is not in it yet is PENDING.
 */
export class DataCache implements DataSource {
  private readonly values = new Map<string, DepValue>();

  has(dep: Dependency): boolean {
    return this.values.has(depId(dep));
  }

  get(dep: Dependency): DepValue | Pending {
    const id = depId(dep);
    return this.values.has(id) ? this.values.get(id) : PENDING;
  }

  /** Store a value; true when it differs from what was there (or nothing was). */
  set(dep: Dependency, value: DepValue): boolean {
    const id = depId(dep);
    const changed = !this.values.has(id) || !sameValue(this.values.get(id), value);
    this.values.set(id, value);
    return changed;
  }

  delete(dep: Dependency): void {
    this.values.delete(depId(dep));
  }

  key(key: string): string | undefined | Pending {
    return this.get({ type: "key", key }) as string | undefined | Pending;
  }

  tree(prefix: string): KeyEntry[] | Pending {
    return this.get({ type: "prefix", prefix }) as KeyEntry[] | Pending;
  }

  service(name: string): ServiceInstance[] | Pending {
    return this.get({ type: "service", name }) as ServiceInstance[] | Pending;
  }

  services(): ServiceSummary[] | Pending {
    return this.get({ type: "services" }) as ServiceSummary[] | Pending;
  }
}

// Values are built by fetch.ts in a fixed shape and order, so JSON equality is value equality.
function sameValue(a: DepValue, b: DepValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
