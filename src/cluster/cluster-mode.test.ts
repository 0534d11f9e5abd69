import { describe, expect, it } from "vitest";
import { clusterMode, storeLocation } from "./cluster-mode.js";
import type { ClusterIdentity } from "./identity.js";

const id: ClusterIdentity = {
  clusterId: "42",
  memberId: "7",
  name: "s1",
  peerUrl: "http://127.0.0.1:2380",
  clientUrl: "http://127.0.0.1:2379",
  createdAt: "2026-01-01T00:00:00Z",
};
const o = { name: "s2", peerAddr: "127.0.0.1:2380", clientAddr: "127.0.0.1:2379" };
const empty = { identity: undefined, etcdData: false };

describe("clusterMode", () => {
  it("--cluster-init on an empty data dir makes a new cluster", () => {
    expect(clusterMode({ ...o, init: true }, "/d", empty)).toEqual({ kind: "init" });
  });

  it("--cluster-init on a cluster's data dir is refused, naming the cluster and what to do", () => {
    expect(() => clusterMode({ ...o, init: true }, "/d", { identity: id, etcdData: true })).toThrow(
      "/d belongs to cluster 42 (server s1); start it without --cluster-init to rejoin it, or remove /d to make a new cluster",
    );
    expect(() =>
      clusterMode({ ...o, init: true }, "/d", { identity: undefined, etcdData: true }),
    ).toThrow(/belongs to a cluster \(it holds etcd data in \/d\/etcd\)/);
  });

  it("restart, force, join and their refusals", () => {
    expect(clusterMode(o, "/d", { identity: id, etcdData: true })).toEqual({
      kind: "restart",
      identity: id,
    });
    expect(
      clusterMode({ ...o, forceNewCluster: true }, "/d", { identity: id, etcdData: true }),
    ).toEqual({
      kind: "force",
      identity: id,
    });
    const join = { url: "https://a:7700", token: "t" };
    expect(clusterMode({ ...o, join }, "/d", { identity: undefined, etcdData: true })).toEqual({
      kind: "join",
      ...join,
      wipe: true,
    });
    expect(() => clusterMode({ ...o, join }, "/d", { identity: id, etcdData: true })).toThrow(
      /without --join/,
    );
    expect(() => clusterMode(o, "/d", empty)).toThrow(/--cluster-init/);
    expect(() => clusterMode({ ...o, forceNewCluster: true }, "/d", empty)).toThrow(
      /belongs to no cluster/,
    );
  });
});

describe("storeLocation", () => {
  it("puts the own member first, without duplicates", () => {
    expect(
      storeLocation("http://127.0.0.1:2379", ["http://10.0.0.2:2379", "http://127.0.0.1:2379/"]),
    ).toBe("etcd://127.0.0.1:2379,10.0.0.2:2379");
  });
});
