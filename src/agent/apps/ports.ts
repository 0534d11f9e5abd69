import { createServer } from "node:net";

/**
 * A loopback TCP port that is free now and not `taken` by another instance of this agent. The
 * app binds it a moment later; the kernel hands out ephemeral ports in sequence, so the same one
 * coming back to someone else in between is unlikely (and shows as a crash, restarted).
 */
export async function pickPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    if (!taken.has(port)) return port;
  }
  throw new Error("no free port found");
}
