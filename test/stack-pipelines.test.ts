/**
 * `pipelines:` in gantry.yaml through the stack engine against a real API and store in-process:
 * load errors at their line; plan → apply → plan is empty; a review config value change is a
 * sensitive update (compared by digest, never read back); removal with prune deletes it.
 */
import { describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import { PipelinesClient } from "../src/client/pipelines.js";
import { applyPlan } from "../src/spec/apply.js";
import { specProblems } from "../src/spec/kinds/spec-problems.js";
import { planStack } from "../src/spec/live.js";
import { planText } from "../src/spec/render.js";
import { stackApi } from "./helpers/stack-api.js";

const s = stackApi();
const { registry, ctx } = s;

const stackText = (body: string, prune = false) =>
  `stack: { name: pipelines, prune: ${prune} }\nkv: { marker: "1" }\n${body === "" ? "" : `pipelines:\n  hello:\n${body}`}`;
const HELLO = `    stages: { staging: hello-staging, production: hello }
    reviewApps: { staleAfter: 2d, config: { DEBUG: 1 } }
    requireTests: true
    requiredConfig: [DATABASE_URL]
`;

const plan = async (text: string) => (await planStack(ctx(), registry, s.parse(text))).plan;
async function apply(text: string) {
  const { plan: p, snapshot } = await planStack(ctx(), registry, s.parse(text));
  return { plan: p, result: await applyPlan(ctx(), registry, p, snapshot) };
}

describe("pipelines in gantry.yaml", () => {
  it("reports bad pipelines at their line", () => {
    const found = specProblems(
      "/stack",
      `pipelines:
  hello:
    stages: { staging: hello-staging }
  other:
    stages: { a: x, b: y }
    reviewApps: { staleAfter: 5 days }
  third:
    stages: { a: x, b: x }
    requiredConfig: [not-a-name]
`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^gantry\.yaml:3: pipelines\.hello\.stages: a pipeline needs at least 2 stages/,
        ),
        expect.stringMatching(
          /^gantry\.yaml:6: pipelines\.other\.reviewApps\.staleAfter: a duration from 1s to 365d/,
        ),
        expect.stringMatching(
          /^gantry\.yaml:9: pipelines\.third\.requiredConfig\[0\]: must be a valid environment variable name/,
        ),
      ]),
    );
  });

  it("creates the pipeline, then plans nothing; a review config change is a sensitive update", async () => {
    const svc = s.t.api.deps.apps as AppService;
    const who = { tokenId: "t", name: "t", policies: [{ admin: true as const }] };
    for (const app of ["hello-staging", "hello"]) await svc.create(app, {}, who);
    const first = await apply(stackText(HELLO));
    expect(first.result).toMatchObject({ created: 2 }); // the kv marker and the pipeline
    const p = await new PipelinesClient(s.t.admin).get("hello");
    expect(p).toMatchObject({
      stages: [
        { name: "staging", app: "hello-staging" },
        { name: "production", app: "hello" },
      ],
      reviewApps: { enabled: true, staleAfterMs: 2 * 86_400_000, configNames: ["DEBUG"] },
      requireTests: true,
      requiredConfig: ["DATABASE_URL"],
    });
    expect(planText(await plan(stackText(HELLO)))).toEqual([
      "No changes: the platform matches the spec.",
    ]);
    const changed = await plan(stackText(HELLO.replace("DEBUG: 1", "DEBUG: 2")));
    const text = planText(changed).join("\n");
    expect(text).toContain("reviewApps.config.DEBUG");
    expect(text).not.toMatch(/DEBUG.*\b2\b/);
    await apply(stackText(HELLO.replace("DEBUG: 1", "DEBUG: 2")));
    expect(planText(await plan(stackText(HELLO.replace("DEBUG: 1", "DEBUG: 2"))))).toEqual([
      "No changes: the platform matches the spec.",
    ]);
    const gone = await apply(stackText("", true));
    expect(gone.result).toMatchObject({ destroyed: 1 });
    expect(await new PipelinesClient(s.t.admin).list()).toEqual([]);
  });
});
