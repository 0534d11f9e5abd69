import { describe, expect, it } from "vitest";
import { commitConfig } from "./commit.js";

describe("commitConfig", () => {
  it("keeps the base image's command, entrypoint, env, user and workdir, and adds the labels", () => {
    const config = commitConfig(
      {
        id: "sha256:b",
        config: {
          Cmd: ["/bin/sh"],
          Entrypoint: ["/init"],
          Env: ["PATH=/bin"],
          User: "nobody",
          WorkingDir: "/app",
          Labels: { keep: "1", "gantry.bake.key": "old" },
        },
      },
      { "gantry.bake.key": "new" },
    );
    expect(config).toMatchObject({
      Cmd: ["/bin/sh"],
      Entrypoint: ["/init"],
      Env: ["PATH=/bin"],
      User: "nobody",
      WorkingDir: "/app",
      Labels: { keep: "1", "gantry.bake.key": "new" },
    });
  });

  it("sends an empty ENTRYPOINT as [] so the engine does not fill in the bake's script", () => {
    const config = commitConfig({ id: "sha256:b", config: {} }, {});
    expect(config["Entrypoint"]).toEqual([]);
    expect(config["Cmd"]).toBeNull();
  });
});
