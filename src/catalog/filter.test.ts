import { describe, expect, it } from "vitest";
import type { HealthStatus, InstanceView } from "../model/service.js";
import { filterInstances, summarize } from "./filter.js";

const view = (
  service: string,
  id: string,
  status: HealthStatus,
  tags: string[] = [],
): InstanceView => ({
  service,
  id,
  node: "n1",
  address: "127.0.0.1",
  port: 1,
  tags,
  meta: {},
  status,
  checks: [],
});

const all = [
  view("web", "b", "passing", ["v2"]),
  view("web", "a", "critical", ["v1"]),
  view("db", "x", "warning", ["primary"]),
  view("web", "c", "passing", ["v1"]),
];

describe("filterInstances", () => {
  it("keeps only passing instances when asked (warning is not passing)", () => {
    expect(filterInstances(all, { passing: true }).map((v) => v.id)).toEqual(["b", "c"]);
  });

  it("filters by tag and sorts by service then id", () => {
    expect(filterInstances(all, { tag: "v1" }).map((v) => v.id)).toEqual(["a", "c"]);
    expect(filterInstances(all).map((v) => `${v.service}/${v.id}`)).toEqual([
      "db/x",
      "web/a",
      "web/b",
      "web/c",
    ]);
  });
});

describe("summarize", () => {
  it("counts instances and passing ones per service, with the union of tags", () => {
    expect(summarize(all)).toEqual([
      { name: "db", tags: ["primary"], instances: 1, passing: 0 },
      { name: "web", tags: ["v1", "v2"], instances: 3, passing: 2 },
    ]);
  });
});
