import { describe, expect, it } from "vitest";
import type { ClusterServers, ServerRow } from "../model/server.js";
import type { Output } from "../output/output.js";
import { showServers } from "./servers.js";

const T = Date.parse("2026-12-07T20:00:00Z");
const row = (r: Partial<ServerRow> & Pick<ServerRow, "name">): ServerRow => ({
  memberId: "1",
  role: "follower",
  health: "healthy",
  lastContact: new Date(T - 900).toISOString(),
  raftIndex: 120,
  apiUrl: null,
  peerUrl: "http://127.0.0.1:2380",
  clientUrl: "http://127.0.0.1:2379",
  controllers: false,
  ...r,
});

function lines(view: ClusterServers): string[] {
  const out: string[] = [];
  const o: Output = { out: (l) => out.push(l), err: () => undefined, tty: false };
  showServers(o, view, T);
  return out;
}

describe("gantry servers (table)", () => {
  it("prints a row per server and the quorum", () => {
    const out = lines({
      servers: [
        row({
          name: "s1",
          role: "leader",
          apiUrl: "https://127.0.0.1:7701",
          controllers: true,
        }),
        row({
          name: "s3",
          memberId: "3",
          role: "unknown",
          health: "unreachable",
          lastContact: new Date(T - 59_000).toISOString(),
          raftIndex: null,
        }),
        row({ name: "", memberId: "4", role: "learner", lastContact: null, raftIndex: null }),
        row({ name: "outside:7700", memberId: null, role: "unknown", lastContact: null }),
      ],
      controllers: "s1",
      quorum: { voters: 3, reachable: 2, ok: true },
      store: "etcd",
    });
    expect(out[0]).toMatch(
      /^NAME\s+ROLE\s+HEALTH\s+LAST CONTACT\s+RAFT INDEX\s+API\s+CONTROLLERS$/,
    );
    expect(out[1]).toMatch(
      /^s1\s+leader\s+healthy\s+1s ago\s+120\s+https:\/\/127.0.0.1:7701\s+leader$/,
    );
    expect(out[2]).toMatch(/^s3\s+unknown\s+unreachable\s+59s ago\s+-\s+-\s+-$/);
    expect(out[3]).toMatch(/^\(member 4\)\s+learner\s+healthy\s+never\s+-\s+-\s+-$/);
    // A server that is no member (an etcd someone else runs) has no role.
    expect(out[4]).toMatch(/^outside:7700\s+-\s+healthy\s+never\s+120/);
    expect(out.at(-1)).toBe("quorum: 2 of 3 voters reachable");
  });

  it("says so when the quorum is lost and nobody leads", () => {
    const out = lines({
      servers: [row({ name: "s1", role: "unknown" })],
      controllers: null,
      quorum: { voters: 3, reachable: 1, ok: false },
      store: "etcd",
    });
    expect(out).toContain("NO QUORUM: 1 of 3 voters reachable; the control plane is read-only");
    expect(out.at(-1)).toBe("no server leads the controllers right now");
  });

  it("prints no quorum line for the embedded store", () => {
    const out = lines({
      servers: [row({ name: "web:7700", memberId: null, role: "leader", controllers: true })],
      controllers: "web:7700",
      quorum: { voters: 1, reachable: 1, ok: true },
      store: "sqlite",
    });
    expect(out).toHaveLength(2);
    expect(out[1]).toMatch(/^web:7700\s+leader\s+healthy/);
  });
});
