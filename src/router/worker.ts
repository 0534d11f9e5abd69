/**
 * A router worker process (forked by workers.ts): it serves the client connections the primary
 * hands it, with its own upstream pools, from the table the primary sends over IPC.
 */
import type { Socket } from "node:net";
import type { FromWorker, ToWorker } from "./messages.js";
import { Proxy } from "./proxy.js";

const send = (msg: FromWorker): void => {
  if (process.connected) process.send!(msg);
};

let proxy: Proxy | undefined;
/** ACME challenge lookups asked of the primary, by id. */
const asked = new Map<number, (keyAuth: string | undefined) => void>();
let nextAsk = 0;
const askPrimary = (token: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    const id = nextAsk++;
    asked.set(id, resolve);
    send({ type: "challenge", id, token });
  });

process.on("message", (msg: ToWorker, handle?: Socket) => {
  switch (msg.type) {
    case "init":
      proxy = new Proxy({
        domain: msg.domain,
        limits: msg.limits,
        ...msg.upstream,
        log: (line) => send({ type: "log", line }),
        ...(msg.challenges ? { challenges: askPrimary } : {}),
      });
      send({ type: "ready" });
      break;
    case "challenge":
      asked.get(msg.id)?.(msg.keyAuth);
      asked.delete(msg.id);
      break;
    case "routes":
      proxy?.setRoutes(msg.snapshot);
      break;
    case "conn":
      if (handle === undefined) break;
      if (proxy === undefined) handle.destroy();
      else {
        handle.allowHalfOpen = true;
        proxy.handle(handle);
        handle.resume();
      }
      break;
    case "stop":
      proxy?.close();
      process.exit(0);
  }
});

// The primary is gone: nobody will hand us connections or routes any more.
process.on("disconnect", () => {
  proxy?.close();
  process.exit(0);
});
