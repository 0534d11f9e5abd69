/**
 * The simulated agents of `npm run bench:scheduler`'s watch10k, in their own process (so their
 * 10,000 sockets do not share the API server's file descriptors or event loop): each holds one
 * blocking query on `GET /v1/nodes/<node>/assignments?index&wait` over its own HTTP connection,
 * and asks again as soon as it is answered. Every answer is reported to the parent over IPC
 * with the monotonic clock (CLOCK_MONOTONIC is shared by the processes of one machine).
 * argv: url token count
 */
import { Agent, request } from "node:http";

const [url, token, countRaw] = process.argv.slice(2) as [string, string, string];
const count = Number(countRaw);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 60_000 });
const base = new URL(url);

function get(path: string): Promise<{ index: number; ids: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        agent,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${path}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
            return;
          }
          const list = JSON.parse(Buffer.concat(chunks).toString()) as { id: string }[];
          resolve({ index: Number(res.headers["x-gantry-index"]), ids: list.map((a) => a.id) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

let stopping = false;
process.on("message", (m) => {
  if (m === "stop") {
    stopping = true;
    agent.destroy();
    process.exit(0);
  }
});

async function one(i: number): Promise<number> {
  const node = `sim-${i}`;
  const first = await get(`/v1/nodes/${node}/assignments`);
  let index = first.index;
  let seen = new Set(first.ids);
  void (async () => {
    while (!stopping) {
      try {
        const r = await get(`/v1/nodes/${node}/assignments?index=${index}&wait=5m`);
        const at = Number(process.hrtime.bigint()) / 1e6;
        const fresh = r.ids.filter((id) => !seen.has(id));
        if (fresh.length > 0) process.send!({ type: "answer", node, ids: fresh, at });
        seen = new Set(r.ids);
        index = r.index;
      } catch (err) {
        if (!stopping) process.send!({ type: "error", node, message: String(err) });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return index;
}

// Connect in waves, so the listen backlog never overflows.
const WAVE = 250;
for (let i = 0; i < count; i += WAVE) {
  await Promise.all(Array.from({ length: Math.min(WAVE, count - i) }, (_, k) => one(i + k)));
}
process.send!({ type: "ready" });
