import * as z from "zod";
import { CatalogClient } from "../../client/catalog.js";
import {
  InstanceIdSchema,
  ServiceNameSchema,
  ServiceRegistrationSchema,
  toInstance,
  type ServiceInstance,
  type ServiceRegistration,
} from "../../model/service.js";
import { createFields, diffValues } from "../diff.js";
import type { Kind, SpecItem, SpecProblem } from "../kind.js";

// The fields of `gantry services register -f`, less service and id: the item's name gives them.
const { service: _service, id: _id, ...fields } = ServiceRegistrationSchema.shape;
const ServiceSpecSchema = z.strictObject(fields);
export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;

/** Removals made at once by a batch. */
const PARALLEL = 16;

/** `web` is service web, instance web; `web/web-2` is service web, instance web-2. */
export function serviceAndId(name: string): { service: string; id: string } {
  const slash = name.indexOf("/");
  return slash < 0
    ? { service: name, id: name }
    : { service: name.slice(0, slash), id: name.slice(slash + 1) };
}

function registration(item: SpecItem<ServiceSpec>): ServiceRegistration {
  return { ...serviceAndId(item.name), ...item.spec };
}

/** The parts of an instance a spec decides (service and id are its name). */
function comparable(inst: ServiceInstance): Omit<ServiceInstance, "service" | "id"> {
  const { service: _s, id: _i, ...rest } = inst;
  delete (rest as { modRevision?: number }).modRevision;
  return rest;
}

/**
 * `services:` — static catalog registrations with their checks (an outside database, a legacy
 * host), the same fields as `gantry services register -f`. The catalog is read in one request,
 * and a batch of 64 registers in one.
 */
export const serviceKind: Kind<ServiceSpec, ServiceInstance> = {
  name: "service",
  section: "services",
  rank: 30,
  schema: ServiceSpecSchema,
  batchSize: 64,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    const seen = new Map<string, string>();
    for (const item of items) {
      const list: SpecProblem[] = [];
      const { service, id } = serviceAndId(item.name);
      const s = ServiceNameSchema.safeParse(service);
      const i = InstanceIdSchema.safeParse(id);
      if (!s.success)
        list.push({ path: "", message: `the service name ${s.error.issues[0]!.message}` });
      else if (!i.success) list.push({ path: "", message: i.error.issues[0]!.message });
      else {
        // The item's schema checked every field; what is left is the registration's own rule.
        const ids = new Set<string>();
        item.spec.checks.forEach((c, n) => {
          if (c.id === undefined) return;
          if (ids.has(c.id))
            list.push({ path: `checks[${n}].id`, message: `duplicate check id "${c.id}"` });
          ids.add(c.id);
        });
        const key = `${service}/${id}`;
        const other = seen.get(key);
        if (other !== undefined)
          list.push({ path: "", message: `registers ${key}, as "${other}" does` });
        seen.set(key, item.name);
      }
      if (list.length > 0) problems.set(item.name, list);
    }
    return problems;
  },

  async read(ctx, names) {
    const all = await ctx.client.json<(ServiceInstance & { modRevision: number })[]>(
      "GET",
      "/v1/catalog/registrations",
    );
    const byKey = new Map(all.map((i) => [`${i.service}/${i.id}`, i]));
    const live = new Map();
    for (const name of names) {
      const { service, id } = serviceAndId(name);
      const inst = byKey.get(`${service}/${id}`);
      if (inst === undefined) continue;
      live.set(name, {
        name,
        value: inst,
        revisions: { [`catalog/${service}/${id}`]: inst.modRevision },
      });
    }
    return live;
  },

  diff(item, live) {
    const want = comparable(toInstance(registration(item)));
    return live === undefined ? createFields(want) : diffValues(comparable(live.value), want);
  },

  async create(ctx, item) {
    await new CatalogClient(ctx.client).register(registration(item));
  },
  async update(ctx, item) {
    await new CatalogClient(ctx.client).register(registration(item));
  },
  async destroy(ctx, name) {
    const { service, id } = serviceAndId(name);
    await new CatalogClient(ctx.client).deregister(service, id);
  },

  async applyBatch(ctx, steps) {
    // Registrations go in one request (PUT /v1/catalog/registrations); removals, rarer, alone.
    const regs = steps.flatMap((s) => (s.action === "destroy" ? [] : [registration(s.item)]));
    if (regs.length > 0) await ctx.client.json("PUT", "/v1/catalog/registrations", { body: regs });
    let next = 0;
    const gone = steps.filter((s) => s.action === "destroy");
    const worker = async (): Promise<void> => {
      while (next < gone.length) {
        const s = gone[next++]!;
        if (s.action === "destroy") await serviceKind.destroy(ctx, s.name, s.live);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, gone.length) }, worker));
  },
};
