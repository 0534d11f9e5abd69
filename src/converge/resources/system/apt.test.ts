import { describe, expect, it } from "vitest";
import { parsePolicy } from "./apt.js";

describe("parsePolicy", () => {
  it("reads each package's candidate, (none) as undefined", () => {
    const out = [
      "bash:",
      "  Installed: 5.2.15-2+b8",
      "  Candidate: 5.2.15-2+b13",
      "  Version table:",
      "     5.2.15-2+b13 500",
      "        500 http://deb.debian.org/debian bookworm/main amd64 Packages",
      "gone:",
      "  Installed: 1.0",
      "  Candidate: (none)",
      "  Version table:",
      " *** 1.0 100",
      "        100 /var/lib/dpkg/status",
      "",
    ].join("\n");
    expect([...parsePolicy(out)]).toEqual([
      ["bash", "5.2.15-2+b13"],
      ["gone", undefined],
    ]);
  });
});
