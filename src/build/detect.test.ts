import { describe, expect, it } from "vitest";
import { detect, NOTHING_TO_RUN } from "./detect.js";

const pkg = (p: object): string => JSON.stringify(p);

describe("detect", () => {
  it("runs a Node app without a Procfile with npm start, installing nothing when it has no dependencies", () => {
    expect(detect({ packageJson: pkg({ scripts: { start: "node server.js" } }) })).toEqual({
      stack: "node",
      processTypes: { web: "npm start" },
      typesFrom: "package.json",
    });
  });

  it("prefers the Procfile's types and installs with npm ci when there is a lockfile", () => {
    const d = detect({
      procfile: "web: node server.js\nworker: node worker.js",
      packageJson: pkg({ dependencies: { a: "1" }, optionalDependencies: { b: "1" } }),
      lockfile: "package-lock.json",
    });
    expect(d.stack).toBe("node");
    expect(d.typesFrom).toBe("Procfile");
    expect(Object.keys(d.processTypes)).toEqual(["web", "worker"]);
    expect(d.install).toEqual({ command: "ci", dependencies: 2 });
  });

  it("uses npm install without a lockfile", () => {
    const d = detect({ packageJson: pkg({ scripts: { start: "x" }, dependencies: { a: "1" } }) });
    expect(d.install?.command).toBe("install");
  });

  it("serves any stack from a Procfile alone (legacy apps)", () => {
    expect(detect({ procfile: "web: python3 -m http.server $PORT" })).toEqual({
      stack: "procfile",
      processTypes: { web: "python3 -m http.server $PORT" },
      typesFrom: "Procfile",
    });
  });

  it("says what is missing when there is nothing to run", () => {
    expect(() => detect({})).toThrow(NOTHING_TO_RUN);
    expect(() => detect({ packageJson: pkg({ scripts: { test: "x" } }) })).toThrow(
      /no Procfile and no package.json start script — add a Procfile like `web: node server.js`/,
    );
  });

  it("names package.json problems", () => {
    expect(() => detect({ packageJson: "{ nope" })).toThrow(/package.json is not valid JSON/);
    expect(() => detect({ packageJson: pkg({ scripts: { start: 3 } }) })).toThrow(
      /"scripts.start" must be a string/,
    );
    expect(() => detect({ procfile: "web: x", packageJson: pkg({ dependencies: ["a"] }) })).toThrow(
      /"dependencies" must be an object/,
    );
  });

  it("reports Procfile errors with their line even when package.json could run the app", () => {
    expect(() =>
      detect({ procfile: "web: ok\nbad line", packageJson: pkg({ scripts: { start: "x" } }) }),
    ).toThrow(/Procfile line 2/);
  });
});
