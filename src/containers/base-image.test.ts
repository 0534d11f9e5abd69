import { describe, expect, it } from "vitest";
import { dockerEngine } from "../docker/engine.js";
import {
  BASE_LABEL,
  BASE_LATEST,
  ensureBaseImage,
  imagePath,
  parseLdd,
  usesBaseImage,
} from "./base-image.js";

describe("ldd listings and the merged-/usr layout", () => {
  it("finds every library with a path, the loader included, and not the vdso", () => {
    const out = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)",
      "\tlibm.so.6 => /usr/lib/x86_64-linux-gnu/libm.so.6 (0x00007f)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)",
      "\tnot a dynamic executable",
    ].join("\n");
    expect(parseLdd(out)).toEqual([
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/usr/lib/x86_64-linux-gnu/libm.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ]);
  });

  it("puts /bin, /lib, /lib64 and /sbin paths under /usr", () => {
    expect(imagePath("/lib64/ld-linux-x86-64.so.2")).toBe("/usr/lib64/ld-linux-x86-64.so.2");
    expect(imagePath("/bin/dash")).toBe("/usr/bin/dash");
    expect(imagePath("/usr/lib/x/libc.so.6")).toBe("/usr/lib/x/libc.so.6");
    expect(imagePath("/library/x")).toBe("/library/x");
  });
});

// Needs a Docker engine (scripts/start-dockerd.sh).
describe("ensureBaseImage", () => {
  const engine = dockerEngine();

  it("makes an image that runs sh, coreutils and node as nobody; again it is found, not made", async () => {
    const ref = await ensureBaseImage(engine);
    expect(ref).toMatch(/^gantry\/base:[0-9a-f]{16}$/);
    const info = await engine.getImage(ref).inspect();
    expect(info.Config.Labels?.[BASE_LABEL]).toBe("1");
    // `FROM gantry/base` names the newest one.
    expect((await engine.getImage(BASE_LATEST).inspect()).Id).toBe(info.Id);

    const t0 = Date.now();
    expect(await ensureBaseImage(engine)).toBe(ref);
    expect(Date.now() - t0).toBeLessThan(1000);

    const c = await engine.createContainer({
      Image: ref,
      User: "65534:65534",
      Cmd: [
        "/bin/sh",
        "-c",
        'id -u; ls -ld /tmp /app; cat /etc/passwd | grep -c nobody; node -e "console.log(1 + 1)"',
      ],
      HostConfig: { NetworkMode: "none" },
    });
    try {
      await c.start();
      expect((await c.wait()).StatusCode).toBe(0);
      const out = (await c.logs({ stdout: true, stderr: true })).toString("latin1");
      expect(out).toContain("65534");
      expect(out).toMatch(/drwxrwxrwt .* \/tmp\n/);
      expect(out).toContain("/app");
      expect(out).toMatch(/\b2\b/);
    } finally {
      await c.remove({ force: true });
    }
  });
});

describe("usesBaseImage", () => {
  it("finds a FROM of gantry/base, with or without a tag or flags, in any case of FROM", () => {
    expect(usesBaseImage("FROM gantry/base\nCOPY . /app\n")).toBe(true);
    expect(usesBaseImage("# app\nfrom gantry/base:latest AS run\n")).toBe(true);
    expect(usesBaseImage("FROM --platform=linux/amd64 gantry/base:abc123\n")).toBe(true);
  });
  it("ignores other images and mentions outside FROM", () => {
    expect(usesBaseImage("FROM gantry/basement\n")).toBe(false);
    expect(usesBaseImage("FROM debian\nRUN echo gantry/base\n")).toBe(false);
    expect(usesBaseImage("FROM registry.example/gantry/base\n")).toBe(false);
  });
});
