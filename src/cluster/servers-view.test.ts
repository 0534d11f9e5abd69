import { describe, expect, it } from "vitest";
import { controllerId, type ServerRecord } from "../model/server.js";
import { HealthTracker } from "./autopilot.js";
import type { Member, MemberStatus } from "./membership.js";
import { clusterView, embeddedView, serverOfMember } from "./servers-view.js";

const T = Date.parse("2026-12-07T20:00:00Z");
const member = (id: string, name: string, isLearner = false): Member => ({
  id,
  name,
  peerUrls: [`http://127.0.0.1:2${id}80`],
  clientUrls: name === "" ? [] : [`http://127.0.0.1:2${id}79`],
  isLearner,
});
const status = (id: string, leader: string, raftIndex: number): MemberStatus => ({
  id,
  leader,
  raftIndex,
  raftAppliedIndex: raftIndex,
  raftTerm: 2,
  isLearner: false,
  dbSize: 1,
  version: "3.4.23",
});
const record = (name: string, port: number, extra: Partial<ServerRecord> = {}): ServerRecord => ({
  name,
  apiUrl: `https://127.0.0.1:${port}`,
  pid: port,
  startedAt: "2026-12-07T19:00:00.000Z",
  ...extra,
});

function observation(): {
  members: Member[];
  statuses: Map<string, MemberStatus>;
  health: HealthTracker;
} {
  const members = [
    member("1", "s1"),
    member("2", "s2"),
    member("3", "s3"),
    member("4", "s4", true),
  ];
  const health = new HealthTracker();
  health.record("1", true, T - 1000, T - 900);
  health.record("2", true, T - 1000, T - 800);
  health.record("3", true, T - 60_000, T - 59_000);
  health.record("3", false, T - 30_000, T - 25_000);
  health.record("4", true, T - 1000, T - 950);
  const statuses = new Map([
    ["1", status("1", "1", 120)],
    ["2", status("2", "1", 119)],
    ["3", status("3", "1", 80)],
    ["4", status("4", "1", 118)],
  ]);
  return { members, statuses, health };
}

describe("clusterView", () => {
  const records = [
    record("s1", 7701, { memberId: "1" }),
    record("s2", 7702, { etcdPeerUrl: "http://127.0.0.1:2280" }),
    record("s4", 7704),
    record("outside", 7709),
  ];
  const view = clusterView(observation(), records, controllerId("https://127.0.0.1:7702", 7702));

  it("gives each member its role, health, last contact and raft index", () => {
    expect(view.servers.slice(0, 4).map((r) => [r.name, r.role, r.health, r.raftIndex])).toEqual([
      ["s1", "leader", "healthy", 120],
      ["s2", "follower", "healthy", 119],
      ["s3", "unknown", "unreachable", null],
      ["s4", "learner", "healthy", 118],
    ]);
    expect(view.servers[0]!.lastContact).toBe(new Date(T - 900).toISOString());
    // Its last answer, not its last probe.
    expect(view.servers[2]!.lastContact).toBe(new Date(T - 59_000).toISOString());
  });

  it("matches servers to members by member id, etcd URL or name; the others get rows of their own", () => {
    expect(view.servers.map((r) => [r.name, r.memberId, r.apiUrl])).toEqual([
      ["s1", "1", "https://127.0.0.1:7701"],
      ["s2", "2", "https://127.0.0.1:7702"],
      ["s3", "3", null],
      ["s4", "4", "https://127.0.0.1:7704"],
      ["outside", null, "https://127.0.0.1:7709"],
    ]);
    expect(view.servers[4]).toMatchObject({ role: "unknown", health: "healthy", raftIndex: null });
  });

  it("marks the controllers' leader and counts voters only for the quorum", () => {
    expect(view.servers.filter((r) => r.controllers).map((r) => r.name)).toEqual(["s2"]);
    expect(view.controllers).toBe("s2");
    expect(view.quorum).toEqual({ voters: 3, reachable: 2, ok: true });
    expect(view.store).toBe("etcd");
  });

  it("names an unknown leader by its id and reports a lost quorum", () => {
    const obs = observation();
    obs.health.record("2", false, T, T + 1);
    const v = clusterView(obs, [], "https://10.0.0.9:7700 (pid 1)");
    expect(v.controllers).toBe("https://10.0.0.9:7700 (pid 1)");
    expect(v.quorum).toEqual({ voters: 3, reachable: 1, ok: false });
    expect(v.servers[1]!.role).toBe("unknown");
  });

  it("a member without a leader has no known role; no observation yet shows the records only", () => {
    const obs = observation();
    obs.statuses.set("1", status("1", "0", 121));
    expect(clusterView(obs, [], undefined).servers[0]!.role).toBe("unknown");
    const none = clusterView(undefined, [record("a", 1)], undefined);
    expect(none.servers.map((r) => r.name)).toEqual(["a"]);
    // Nothing seen of the members: no quorum that can be shown.
    expect(none.quorum).toEqual({ voters: 0, reachable: 0, ok: false });
    expect(none.controllers).toBeNull();
  });

  it("a record with a member id never matches another member by name", () => {
    expect(serverOfMember(record("s1", 1, { memberId: "9" }), member("1", "s1"))).toBe(false);
    expect(serverOfMember(record("s1", 1), member("1", "s1"))).toBe(true);
    // A member id in another shape still matches by the member's peer URL.
    const byUrl = record("s1", 1, { memberId: "0xaa", etcdPeerUrl: "http://127.0.0.1:2180" });
    expect(serverOfMember(byUrl, member("1", "s1"))).toBe(true);
    expect(serverOfMember(record("", 1), member("5", ""))).toBe(false);
  });
});

describe("embeddedView", () => {
  it("is one row, its own quorum, the newest record (or the leader's)", () => {
    const old = record("web:7700", 7700, { startedAt: "2026-12-07T18:00:00.000Z", pid: 1 });
    const cur = record("web:7700", 7700, { startedAt: "2026-12-07T19:30:00.000Z", pid: 2 });
    const v = embeddedView([old, cur], controllerId(cur.apiUrl, 2), T);
    expect(v).toEqual({
      servers: [
        {
          name: "web:7700",
          memberId: null,
          role: "leader",
          health: "healthy",
          lastContact: new Date(T).toISOString(),
          raftIndex: null,
          apiUrl: "https://127.0.0.1:7700",
          peerUrl: null,
          clientUrl: null,
          controllers: true,
        },
      ],
      controllers: "web:7700",
      quorum: { voters: 1, reachable: 1, ok: true },
      store: "sqlite",
    });
    expect(embeddedView([old, cur], undefined, T).servers[0]!.controllers).toBe(false);
  });
});
