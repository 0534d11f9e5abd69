/**
 * A latency probe at a light, steady load: CONNS keep-alive connections, each sending one
 * request, waiting for the answer, then pausing so that together they make about RATE requests/s,
 * for SECONDS. Each latency is timed from the request's write to the end of its answer. Prints
 * one JSON line: {"sent","p50","p90","p99","max","errors"} (ms).
 *
 * wrk measures at saturation, where latency is queueing behind throughput; this measures what a
 * hop adds to one request at a load the app handles easily — the "added p99" of a proxy.
 * Plain JavaScript so it starts as its own process without a loader.
 *
 * Usage: node bench/latency-probe.mjs URL HOST RATE SECONDS CONNS
 */
import { Agent, request } from "node:http";

const [url, host, rateArg, secondsArg, connsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 1000);
const seconds = Number(secondsArg ?? 5);
const conns = Number(connsArg ?? 4);
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: conns, maxFreeSockets: conns });
const headers = host ? { host } : {};
const pauseMs = (1000 * conns) / rate;

const latencies = [];
let errors = 0;

function once() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, agent, headers },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          else errors++;
          resolve();
        });
      },
    );
    req.on("error", () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

const end = Date.now() + seconds * 1000;
async function loop() {
  while (Date.now() < end) {
    const started = Date.now();
    await once();
    const rest = pauseMs - (Date.now() - started);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
}
await Promise.all(Array.from({ length: conns }, loop));
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    sent: latencies.length + errors,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: latencies[latencies.length - 1] ?? NaN,
    errors,
  }),
);
