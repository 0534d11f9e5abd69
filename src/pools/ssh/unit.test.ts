import { describe, expect, it } from "vitest";
import { agentUnit, unitName } from "./unit.js";

describe("the agent's systemd unit", () => {
  const unit = agentUnit({
    name: "web-2",
    pool: "web",
    dir: "/opt/gantry/web-2",
    argv: [
      "/usr/bin/node",
      "/opt/gantry/web-2/gantry.mjs",
      "agent",
      "--server",
      "https://10.0.0.1:7700/x%20y",
    ],
  });

  it("runs the node's copy of the agent, each argument quoted for systemd", () => {
    expect(unit).toContain(
      'ExecStart="/usr/bin/node" "/opt/gantry/web-2/gantry.mjs" "agent" "--server" "https://10.0.0.1:7700/x%%20y"\n',
    );
  });

  it("appends its output to the node's agent.log and stops the agent alone first", () => {
    expect(unit).toContain("StandardOutput=append:/opt/gantry/web-2/agent.log\n");
    expect(unit).toContain("WorkingDirectory=/opt/gantry/web-2\n");
    expect(unit).toContain("KillMode=mixed\n");
    expect(unit).toContain("WantedBy=multi-user.target\n");
  });

  it("is named for the node", () => {
    expect(unitName("web-2")).toBe("gantry-agent-web-2.service");
  });
});
