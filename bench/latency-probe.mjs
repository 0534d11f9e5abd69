/**
 * A latency probe at a light, steady load, over several targets at once, interleaved: CONNS
 * loops, each with its own keep-alive connection to every target, send one request to each target
 * in turn (the order rotating), waiting for each answer, then pause so that every target gets
 * about RATE requests/s, for SECONDS. Each latency is timed from the request's write to the end
 * of its answer. Prints one JSON line: {"<name>": {"sent","p50","p90","p95","p99","p999","max","errors"}}
 * (ms).
 *
 * Interleaving is what makes the figures comparable on a shared machine: a stall of the machine
 * (a neighbour, the hypervisor) hits every target alike, instead of whichever one happened to be
 * measured during it. wrk measures at saturation, where latency is queueing behind throughput;
 * this measures what a hop adds to one request at a load the app handles easily — the "added
 * p99" of a proxy. Plain JavaScript so it starts as its own process without a loader.
 *
 * Usage: node bench/latency-probe.mjs RATE SECONDS CONNS NAME=URL[@HOST] ...
 */
import { Agent, request } from "node:http";

const [rateArg, secondsArg, connsArg, ...specs] = process.argv.slice(2);
const rate = Number(rateArg ?? 500);
const seconds = Number(secondsArg ?? 5);
const conns = Number(connsArg ?? 4);
if (specs.length === 0) {
  console.error("usage: latency-probe.mjs RATE SECONDS CONNS NAME=URL[@HOST] ...");
  process.exit(2);
}

const targets = specs.map((spec) => {
  const eq = spec.indexOf("=");
  const [url, host] = spec.slice(eq + 1).split("@");
  const u = new URL(url);
  return {
    name: spec.slice(0, eq),
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    headers: host ? { host } : {},
    agent: new Agent({ keepAlive: true, maxSockets: conns, maxFreeSockets: conns }),
    latencies: [],
    errors: 0,
  };
});
const pauseMs = (1000 * conns) / rate;

function once(t) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request(
      { host: t.host, port: t.port, path: t.path, agent: t.agent, headers: t.headers },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => {
          if (res.statusCode === 200) t.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          else t.errors++;
          resolve();
        });
      },
    );
    req.on("error", () => {
      t.errors++;
      resolve();
    });
    req.end();
  });
}

const end = Date.now() + seconds * 1000;
async function loop(offset) {
  let turn = offset;
  while (Date.now() < end) {
    const started = Date.now();
    for (let i = 0; i < targets.length; i++) await once(targets[(turn + i) % targets.length]);
    turn++;
    const rest = pauseMs - (Date.now() - started);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
}
await Promise.all(Array.from({ length: conns }, (_, i) => loop(i)));

const out = {};
for (const t of targets) {
  t.agent.destroy();
  const xs = t.latencies.sort((a, b) => a - b);
  const pct = (p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
  out[t.name] = {
    sent: xs.length + t.errors,
    p50: pct(50),
    p90: pct(90),
    p95: pct(95),
    p99: pct(99),
    p999: pct(99.9),
    max: xs[xs.length - 1] ?? NaN,
    errors: t.errors,
  };
}
console.log(JSON.stringify(out));
