/**
 * How late this machine wakes a sleeping thread: N sleeps of 0.5 ms (a futex wait with a
 * timeout, through Atomics.wait), each timed; prints one JSON line {"p50","p99","max"} with how
 * much later than asked each woke (ms). On a quiet physical machine that is tens of µs; on a
 * virtual machine whose idle vCPUs halt, it can be milliseconds — and every hop of a proxied
 * request pays it. Plain JavaScript so it starts as its own process without a loader.
 *
 * Usage: node bench/wake-jitter.mjs [N]
 */
const n = Number(process.argv[2] ?? 4000);
const cell = new Int32Array(new SharedArrayBuffer(4));
const late = new Float64Array(n);
for (let i = 0; i < n; i++) {
  const t0 = process.hrtime.bigint();
  Atomics.wait(cell, 0, 0, 0.5);
  late[i] = Number(process.hrtime.bigint() - t0) / 1e6 - 0.5;
}
late.sort();
const pct = (p) => late[Math.min(n - 1, Math.floor((p / 100) * n))];
console.log(JSON.stringify({ p50: pct(50), p99: pct(99), max: late[n - 1] }));
