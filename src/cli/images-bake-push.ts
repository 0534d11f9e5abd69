import { existsSync, readFileSync } from "node:fs";
import { ApiError, ConnectError } from "../client/errors.js";
import { dataFiles, defaultDataDir } from "../server/datadir.js";
import type { RegistryTarget } from "../bake/push.js";
import { clientFromEnv } from "./config.js";

/**
 * Where a bake pushes: Gantry's registry, when a server answers GET /v1/registry with a running
 * one. `undefined` (with the reason in `why`) when there is none: the bake then stays local.
 */
export async function findRegistry(
  why: (reason: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryTarget | undefined> {
  const client = clientFromEnv(env);
  let answer: { address?: unknown; running?: unknown };
  try {
    answer = await client.json("GET", "/v1/registry", { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    if (err instanceof ConnectError || (err as Error).name === "TimeoutError") {
      why(`not pushed: no Gantry server answers at ${client.addr}`);
      return undefined;
    }
    if (err instanceof ApiError && err.status === 404) {
      why(`not pushed: the server at ${client.addr} has no registry`);
      return undefined;
    }
    throw err;
  }
  if (answer.running !== true || typeof answer.address !== "string") {
    why(`not pushed: the registry of ${client.addr} is not running`);
    return undefined;
  }
  const password = token(env);
  if (password === undefined) {
    why("not pushed: no Gantry token (GANTRY_TOKEN) to log in to the registry with");
    return undefined;
  }
  // The registry's token realm takes any user name with a Gantry token as the password.
  return {
    address: answer.address,
    auth: { username: "gantry", password, serveraddress: answer.address },
  };
}

/** The token the CLI's client uses: GANTRY_TOKEN, else the one `gantry up` saved. */
function token(env: NodeJS.ProcessEnv): string | undefined {
  if (env["GANTRY_TOKEN"] !== undefined) return env["GANTRY_TOKEN"];
  const file = dataFiles(env["GANTRY_DATA_DIR"] ?? defaultDataDir()).adminToken;
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}
