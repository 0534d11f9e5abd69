import { describe, expect, it } from "vitest";
import { clusterOptions, type ClusterFlags } from "./server-cluster-flags.js";

const ctx = { apiHost: "10.0.0.1", dataDir: "/nonexistent-gantry", env: {} };
const run = (f: ClusterFlags, c: Partial<typeof ctx> & { read?: (p: string) => string } = {}) =>
  clusterOptions(f, { ...ctx, ...c });
const TOKEN = "K10abc::id.secret";

describe("gantry server's cluster flags", () => {
  it("--cluster-init: defaults peer on the API's host, client on loopback, name from the host", () => {
    const o = run({ clusterInit: true, name: "s1" });
    expect(o).toEqual({
      init: true,
      name: "s1",
      peerAddr: "10.0.0.1:2380",
      clientAddr: "127.0.0.1:2379",
    });
  });

  it("no cluster flag: no options (a restart reads DATA_DIR/cluster.json)", () => {
    expect(run({})).toBeUndefined();
  });

  it.each<[ClusterFlags, string, RegExp]>([
    [
      { clusterInit: true, join: "https://a:7700", joinToken: TOKEN },
      "--join",
      /do not go together/,
    ],
    [{ clusterInit: true, store: "etcd://a:2379" }, "--store", /own etcd/],
    [{ join: "https://a:7700", joinToken: TOKEN, store: "etcd://a:2379" }, "--store", /own etcd/],
    [{ join: "https://a:7700" }, "--join-token", /needs a server join token/],
    [{ joinToken: TOKEN }, "--join-token", /needs --join/],
    [{ clusterInit: true, forceNewCluster: true }, "--force-new-cluster", /do not go together/],
    [{ join: "http://a:7700", joinToken: TOKEN }, "--join", /https:\/\//],
    [{ clusterInit: true, name: "a=b" }, "--name", /letters/],
    [{ clusterInit: true, etcdPeerAddr: "0.0.0.0:2380" }, "--etcd-peer-addr", /others reach/],
    [{ etcdPeerAddr: "127.0.0.1:2380" }, "--etcd-peer-addr", /needs --cluster-init or --join/],
    [
      { join: "https://a:7700", joinToken: TOKEN, joinTokenFile: "/t" },
      "--join-token-file",
      /one way/,
    ],
  ])("refuses %j naming %s", (flags, field, message) => {
    let err: unknown;
    try {
      run(flags);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "invalid_argument", field });
    expect((err as Error).message).toMatch(message);
  });

  it("--api-addr on every address needs --etcd-peer-addr", () => {
    expect(() => run({ clusterInit: true }, { apiHost: "0.0.0.0" })).toThrow(
      /--etcd-peer-addr is needed/,
    );
    expect(
      run({ clusterInit: true, etcdPeerAddr: "10.0.0.9:2380" }, { apiHost: "0.0.0.0" }),
    ).toMatchObject({
      peerAddr: "10.0.0.9:2380",
    });
  });

  it("takes the join token from a file or $GANTRY_JOIN_TOKEN", () => {
    const fromFile = run(
      { join: "https://a:7700/", joinTokenFile: "/secret" },
      { read: (p) => (p === "/secret" ? `${TOKEN}\n` : "") },
    );
    expect(fromFile?.join).toEqual({ url: "https://a:7700", token: TOKEN });
    const fromEnv = run({ join: "https://a:7700" }, { env: { GANTRY_JOIN_TOKEN: TOKEN } });
    expect(fromEnv?.join?.token).toBe(TOKEN);
  });
});
