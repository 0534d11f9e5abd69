import { afterAll, beforeAll } from "vitest";
import { runStoreConformance } from "../conformance/suite.js";
import type { Store } from "../types.js";
import { openSqliteStore } from "./index.js";
import { tempDirs } from "./test-dirs.js";

const dirs = tempDirs();
let store: Store;

beforeAll(async () => {
  store = await openSqliteStore({ dir: dirs.make("conformance") });
});

afterAll(async () => {
  await store?.close();
  dirs.cleanup();
});

runStoreConformance({
  name: "sqlite",
  store: () => store,
  // One process owns the data directory, so every "client" is the same store.
  client: async () => store,
  independentClients: false,
  fresh: () => openSqliteStore({ dir: dirs.make("fresh") }),
});
