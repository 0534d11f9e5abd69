import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of one API server (its own registry, so tests can run several servers). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "gantry_api_requests_total",
    help: "API requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "gantry_api_request_seconds",
    help: "API request latency by route",
    labelNames: ["method", "route"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: "gantry_",
      eventLoopMonitoringPrecision: 100,
    });
  }
}
