/**
 * A pool's roles, vars or labels changed: its nodes get the new converge settings in place (no
 * replacement; their agents converge to them). Written only when they differ from what the
 * store holds, which is read once per node per leadership and then remembered — a put of the
 * same value would still wake every agent's blocking read and run its states again.
 */
import { K } from "../model/keys.js";
import type { PoolRecord } from "../model/pool.js";
import { text, type Store } from "../store/index.js";
import { convergeSettings } from "./pools-ops.js";
import type { PoolNodeRecord } from "./pools-types.js";

export class SettingsSync {
  /** The converge settings last known in the store per node (JSON). */
  private readonly known = new Map<string, string>();

  constructor(private readonly store: Store) {}

  async sync(pool: PoolRecord, nodes: readonly PoolNodeRecord[]): Promise<void> {
    for (const node of nodes) {
      if (node.retiring !== undefined) continue;
      const key = K.convergeNodes + node.name;
      const want = JSON.stringify(convergeSettings(pool, node));
      let have = this.known.get(node.name);
      if (have === undefined) {
        const kv = await this.store.get(key);
        have = kv === undefined ? "" : normalJson(text(kv.value));
        this.known.set(node.name, have);
      }
      if (have === want) continue;
      await this.store.put(key, want);
      this.known.set(node.name, want);
    }
  }
}

/** JSON text in the form JSON.stringify gives it (so stored and wanted settings compare). */
function normalJson(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw));
  } catch {
    return "";
  }
}
