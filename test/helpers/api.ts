/**
 * The API server in-process over a real embedded store in a temporary directory, listening on
 * a free loopback port: for API tests that need real HTTP but not a separate process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiServer, type ApiServer } from "../../src/api/server.js";
import { newSecret } from "../../src/api/tokens.js";
import { GantryClient } from "../../src/client/client.js";
import { ApiError } from "../../src/client/errors.js";
import type { Policy } from "../../src/model/token.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";

export interface TestApi {
  url: string;
  /** The server's data directory (DATA_DIR/artifacts…): inside the temporary dir unless given. */
  dataDir: string;
  store: Store;
  api: ApiServer;
  adminToken: string;
  /** A client with the admin token. */
  admin: GantryClient;
  /** Create a token with these policies and return a client using it. */
  clientWith(policies: Policy[], name?: string): Promise<GantryClient & { secret: string }>;
  close(): Promise<void>;
}

let n = 0;

export async function startTestApi(
  opts: { store?: Store; dataDir?: string; uiDist?: string } = {},
): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-api-test-"));
  const dataDir = opts.dataDir ?? join(dir, "data");
  const store =
    opts.store ?? (await openSqliteStore({ dir: join(dir, "store"), durability: "process" }));
  const api = await createApiServer({
    store,
    dataDir,
    log: () => undefined,
    ...(opts.uiDist === undefined ? {} : { uiDist: opts.uiDist }),
  });
  const adminToken = newSecret();
  await api.deps.tokens.create(`admin-${++n}`, [{ admin: true }], "test", adminToken);
  const addr = await api.listen("127.0.0.1", 0);
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    url,
    dataDir,
    store,
    api,
    adminToken,
    admin: new GantryClient({ addr: url, token: adminToken }),
    clientWith: async (policies, name) => {
      const secret = newSecret();
      await api.deps.tokens.create(name ?? `t-${++n}`, policies, "test", secret);
      return Object.assign(new GantryClient({ addr: url, token: secret }), { secret });
    },
    close: async () => {
      await api.close();
      if (opts.store === undefined) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ApiError a request fails with (any other outcome fails the test). */
export async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}
