import { describe, expect, it } from "vitest";
import { registryOptions } from "./up.js";

describe("registry flags of gantry up / server", () => {
  it("defaults: loopback:5000 for up, the API's host for server, not explicit", () => {
    expect(registryOptions({ registry: true }, "0.0.0.0", true)).toEqual({
      registry: { host: "127.0.0.1", port: 5000, explicit: false },
    });
    expect(registryOptions({ registry: true }, "10.0.0.5", false)).toEqual({
      registry: { host: "10.0.0.5", port: 5000, explicit: false },
    });
  });

  it("--registry-addr is explicit; --no-registry turns it off; retention is a whole number", () => {
    expect(
      registryOptions(
        { registry: true, registryAddr: "127.0.0.1:5001", imageRetention: "10" },
        "127.0.0.1",
        true,
      ),
    ).toEqual({ registry: { host: "127.0.0.1", port: 5001, explicit: true }, imageRetention: 10 });
    expect(registryOptions({ registry: false }, "127.0.0.1", true)).toEqual({ registry: false });
    for (const bad of ["0", "-1", "two", "1.5"])
      expect(() =>
        registryOptions({ registry: true, imageRetention: bad }, "127.0.0.1", true),
      ).toThrow(/--image-retention must be a whole number/);
    expect(() => registryOptions({ registry: true, registryAddr: "nope" }, "h", true)).toThrow(
      /--registry-addr/,
    );
  });
});
