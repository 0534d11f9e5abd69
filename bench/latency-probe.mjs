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
 * The probe is lean so that its own pauses stay out of the tail it measures: raw sockets, one
 * request prepared per target, answers parsed only as far as their length, latencies in a
 * preallocated array. (node:http's client allocated enough per request for a young-generation
 * collection every ~150 requests, each 0.2–0.9 ms: right at the p99 of a 4000-request round.)
 *
 * Usage: node bench/latency-probe.mjs RATE SECONDS CONNS NAME=URL[@HOST] ...
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";

const [rateArg, secondsArg, connsArg, ...specs] = process.argv.slice(2);
const rate = Number(rateArg ?? 500);
const seconds = Number(secondsArg ?? 5);
const conns = Number(connsArg ?? 4);
if (specs.length === 0) {
  console.error("usage: latency-probe.mjs RATE SECONDS CONNS NAME=URL[@HOST] ...");
  process.exit(2);
}
const capacity = Math.ceil(rate * seconds * 1.5) + 16;

const targets = specs.map((spec) => {
  const eq = spec.indexOf("=");
  const [url, host] = spec.slice(eq + 1).split("@");
  const u = new URL(url);
  return {
    name: spec.slice(0, eq),
    host: u.hostname,
    port: Number(u.port || 80),
    request: Buffer.from(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${host ?? u.host}\r\nuser-agent: gantry-latency-probe\r\n\r\n`,
      "latin1",
    ),
    latencies: new Float64Array(capacity),
    count: 0,
    errors: 0,
  };
});
const pauseMs = (1000 * conns) / rate;

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const CHUNKED_END = Buffer.from("0\r\n\r\n", "latin1");

/**
 * One keep-alive connection to one target: `send(done)` writes the prepared request and calls
 * done(ok) once the whole answer is in (ok: status 200).
 */
function connection(t) {
  let socket = null;
  let pending = null; // the caller's done, while a request is out
  let t0 = 0;
  let buf = Buffer.alloc(0);
  const finish = (ok) => {
    const done = pending;
    pending = null;
    if (ok) {
      if (t.count < capacity) t.latencies[t.count++] = performance.now() - t0;
    } else t.errors++;
    done?.();
  };
  const open = () => {
    socket = connect({ host: t.host, port: t.port, noDelay: true });
    buf = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const answer = complete(buf);
      if (answer === 0) return; // more to come
      buf = buf.subarray(Math.abs(answer));
      finish(answer > 0);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      socket = null;
      if (pending !== null) finish(false);
    });
  };
  return {
    send(done) {
      if (socket === null) open();
      pending = done;
      t0 = performance.now();
      socket.write(t.request);
    },
    close() {
      socket?.destroy();
    },
  };
}

/**
 * Whether buf holds a whole answer: 0 when not yet; otherwise its length, negative when the
 * status was not 200. Content-Length and chunked bodies; no body for 204/304.
 */
function complete(b) {
  const headEnd = b.indexOf(HEAD_END);
  if (headEnd < 0) return 0;
  const head = b.toString("latin1", 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  let total;
  const cl = head.indexOf("\r\ncontent-length:");
  if (cl >= 0) {
    total = headEnd + 4 + parseInt(head.slice(cl + 17), 10);
  } else if (head.includes("\r\ntransfer-encoding: chunked")) {
    const end = b.indexOf(CHUNKED_END, headEnd + 4);
    if (end < 0) return 0;
    total = end + CHUNKED_END.length;
  } else total = headEnd + 4;
  if (b.length < total) return 0;
  return status === 200 ? total : -total;
}

const end = performance.now() + seconds * 1000;
function loop(offset) {
  return new Promise((resolve) => {
    const conns = targets.map(connection);
    let turn = offset;
    // Rounds start on a steady schedule, pauseMs apart; one that ran late pushes the schedule
    // back rather than bunching the next ones up.
    let due = performance.now();
    const round = () => {
      const now = performance.now();
      if (now >= end) {
        for (const c of conns) c.close();
        resolve();
        return;
      }
      due = Math.max(due, now) + pauseMs;
      let i = 0;
      const next = () => {
        if (i === conns.length) {
          turn++;
          const rest = due - performance.now();
          if (rest > 0) setTimeout(round, rest);
          else setImmediate(round);
          return;
        }
        conns[(turn + i++) % conns.length].send(next);
      };
      next();
    };
    round();
  });
}
await Promise.all(Array.from({ length: conns }, (_, i) => loop(i)));

const out = {};
for (const t of targets) {
  const xs = t.latencies.subarray(0, t.count).sort();
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
