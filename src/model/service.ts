import * as z from "zod";
import { durationSchema } from "./duration.js";
import { NodeNameSchema } from "./node.js";

/**
 * The service catalog's records: what users register (ServiceRegistration), what is stored under
 * `catalog/<service>/<id>` (ServiceInstance: the registration with every id filled in) and what
 * the agents report under `health/<service>/<id>/<check>` (HealthRecord). One set of schemas for
 * the API, the CLI and the spec loader.
 */

/** DNS-label-ish: lower-case letters, digits and inner dashes, at most 63 characters. */
export const ServiceNameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be lower-case letters, digits and inner dashes (a DNS label), at most 63 characters",
  );

/** Instance and check ids are single path segments (they are parts of keys and URLs). */
const segment = (what: string, max: number) =>
  z
    .string()
    .regex(
      new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,${max - 1}}$`),
      `${what} must be letters, digits and _ . : - (starting with a letter or digit), at most ${max} characters`,
    );

export const InstanceIdSchema = segment("an instance id", 128);
export const CheckIdSchema = segment("a check id", 64);

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters");

const HostSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:%-]{1,253}$/, "must be a host name or an IP address (no scheme, no port)");

const HostPortSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.%a-z]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/, "must be HOST:PORT")
  .refine(
    (v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535,
    "the port must be at most 65535",
  );

const Interval = durationSchema(100, 24 * 3_600_000);
const Timeout = durationSchema(10, 10 * 60_000);

/** Fields every check has. */
const common = {
  id: CheckIdSchema.optional(),
  name: printable(128).optional(),
  /** Remove the instance once this check has been critical for longer than this. */
  deregisterAfter: durationSchema(1000, 365 * 24 * 3_600_000).optional(),
};

/** What an http check accepts: 2xx (Consul's rule, the default), or any answer below 500. */
export const HttpExpectSchema = z.enum(["2xx", "<500"]);
export type HttpExpect = z.infer<typeof HttpExpectSchema>;

/**
 * http: GET `url`, or `path` on the instance's address and port; 2xx passes, 429 warns. With
 * `expect: "<500"` (app instances: a login redirect or a 404 still means the app is up) every
 * answer below 500 passes and redirects are not followed.
 */
export const HttpCheckSchema = z
  .strictObject({
    type: z.literal("http"),
    ...common,
    url: z
      .string()
      .max(2048)
      .refine((v) => {
        try {
          return ["http:", "https:"].includes(new URL(v).protocol);
        } catch {
          return false;
        }
      }, "must be an http:// or https:// URL")
      .optional(),
    path: z
      .string()
      .max(2048)
      .regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces')
      .optional(),
    interval: Interval.default("10s"),
    timeout: Timeout.optional(),
    expect: HttpExpectSchema.optional(),
  })
  .refine((c) => (c.url === undefined) !== (c.path === undefined), {
    message: "an http check needs exactly one of url or path",
    path: ["url"],
  });

/** tcp: connect to `address` (default: the instance's address and port). */
export const TcpCheckSchema = z.strictObject({
  type: z.literal("tcp"),
  ...common,
  address: HostPortSchema.optional(),
  interval: Interval.default("10s"),
  timeout: Timeout.optional(),
});

/** ttl: passes while someone keeps reporting it (PUT /v1/checks/…/pass) within `ttl`. */
export const TtlCheckSchema = z.strictObject({
  type: z.literal("ttl"),
  ...common,
  ttl: durationSchema(1000, 24 * 3_600_000),
});

const ARGV_HINT =
  'command must be an array of arguments (argv), e.g. ["/usr/bin/pg_isready", "-q"], not a shell string';

/** exec: run `command` (argv, never through a shell); exit 0 passes, 1 warns, anything else fails. */
export const ExecCheckSchema = z.strictObject({
  type: z.literal("exec"),
  ...common,
  command: z
    .array(printable(4096), {
      error: (iss) => (typeof iss.input === "string" ? ARGV_HINT : undefined),
    })
    .min(1, "command needs at least the program to run")
    .max(64),
  interval: Interval.default("10s"),
  timeout: Timeout.optional(),
});

export const CheckSchema = z.discriminatedUnion("type", [
  HttpCheckSchema,
  TcpCheckSchema,
  TtlCheckSchema,
  ExecCheckSchema,
]);
export type Check = z.infer<typeof CheckSchema>;
export type CheckType = Check["type"];
/** A check as stored: its id is always set. */
export type StoredCheck = Check & { id: string };

export const ServiceRegistrationSchema = z
  .strictObject({
    service: ServiceNameSchema,
    /** Default: the service name (one instance per service and node is the common case). */
    id: InstanceIdSchema.optional(),
    node: NodeNameSchema,
    address: HostSchema,
    port: z.int().min(1).max(65535),
    tags: z.array(printable(128)).max(64).default([]),
    meta: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "meta keys are letters, digits, _ and -"),
        z.string().max(512),
      )
      .refine((m) => Object.keys(m).length <= 64, "at most 64 meta entries")
      .default({}),
    checks: z.array(CheckSchema).max(32).default([]),
  })
  .superRefine((reg, ctx) => {
    const seen = new Set<string>();
    reg.checks.forEach((c, i) => {
      if (c.id === undefined) return;
      if (seen.has(c.id))
        ctx.addIssue({
          code: "custom",
          path: ["checks", i, "id"],
          message: `duplicate check id "${c.id}"`,
        });
      seen.add(c.id);
    });
  });
export type ServiceRegistration = z.infer<typeof ServiceRegistrationSchema>;

/** What `catalog/<service>/<id>` holds. */
export interface ServiceInstance extends Omit<ServiceRegistration, "id" | "checks"> {
  id: string;
  checks: StoredCheck[];
}

/**
 * Fill in the defaults a registration leaves out: the instance id (the service name) and check
 * ids (the check's type, then `-2`, `-3`… for more of the same type, skipping explicit ids), so
 * a TTL check can be addressed as `/v1/checks/web/web/ttl/pass` without naming it.
 */
export function toInstance(reg: ServiceRegistration): ServiceInstance {
  const taken = new Set(reg.checks.flatMap((c) => (c.id === undefined ? [] : [c.id])));
  const checks = reg.checks.map((c): StoredCheck => {
    if (c.id !== undefined) return { ...c, id: c.id };
    let id: string = c.type;
    for (let n = 2; taken.has(id); n++) id = `${c.type}-${n}`;
    taken.add(id);
    return { ...c, id };
  });
  return { ...reg, id: reg.id ?? reg.service, checks };
}

export const HEALTH_STATUSES = ["passing", "warning", "critical"] as const;
export const HealthStatusSchema = z.enum(HEALTH_STATUSES);
export type HealthStatus = z.infer<typeof HealthStatusSchema>;

/** Longest check output kept (the rest is cut, as Consul does at 4 KB). */
export const MAX_OUTPUT = 4096;

/** A check result as reported by an agent (PUT /v1/health/…). */
export const HealthReportSchema = z.strictObject({
  status: HealthStatusSchema,
  output: z.string().max(MAX_OUTPUT).default(""),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;

/** What `health/<service>/<id>/<check>` holds. */
export interface HealthRecord {
  status: HealthStatus;
  output: string;
  /** When the status or output last changed (server time, ISO 8601). */
  updatedAt: string;
  /** Since when the check has had this status (server time, ISO 8601). */
  since: string;
}

// --- what the API answers ------------------------------------------------------------------

export interface CheckView {
  id: string;
  name: string;
  type: CheckType | "node";
  status: HealthStatus;
  output: string;
  /** Absent while the check has no result yet. */
  updatedAt?: string;
  since?: string;
}

/** An instance as GET /v1/catalog/service/:name answers it: `checks` are results. */
export interface InstanceView extends Omit<ServiceInstance, "checks"> {
  /** The worst status of its checks (critical > warning > passing); passing with no checks. */
  status: HealthStatus;
  /** Results per check, in registration order (plus the synthetic `node` check, see catalog/). */
  checks: CheckView[];
}

/** An instance as an agent sees it (GET /v1/catalog/node/:node): results and definitions. */
export interface NodeInstanceView extends InstanceView {
  definitions: StoredCheck[];
}

export interface ServiceSummary {
  name: string;
  tags: string[];
  instances: number;
  passing: number;
}
