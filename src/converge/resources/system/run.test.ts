import { describe, expect, it } from "vitest";
import { ResourceFailed } from "../../errors.js";
import { formatArgv, run, runOk } from "./run.js";

describe("run", () => {
  it("resolves with the exit code and both outputs, without a shell", async () => {
    const r = await run([
      "/bin/sh",
      "-c",
      'echo "$1"; echo err >&2; exit 3',
      "sh",
      "$HOME; rm -rf /",
    ]);
    expect(r).toEqual({ code: 3, stdout: "$HOME; rm -rf /\n", stderr: "err\n" });
  });

  it("finds sbin commands even when PATH lacks them", async () => {
    const r = await run(["useradd", "--help"], { env: { PATH: "/usr/bin:/bin" } });
    expect(r.stdout).toContain("Usage: useradd");
  });

  it("streams output lines as they arrive", async () => {
    const lines: string[] = [];
    await run(["/bin/sh", "-c", "echo one; echo two >&2; printf three"], {
      onLine: (l) => lines.push(l),
    });
    expect(lines.sort()).toEqual(["one", "three", "two"]);
  });

  it("fails with the command and the last lines of stderr, redacted", async () => {
    const err = await runOk(run, ["/bin/sh", "-c", "echo s3cret-token >&2; exit 7"], {
      redact: (s) => s.replaceAll("s3cret-token", "[secret]"),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceFailed);
    expect((err as Error).message).toBe(
      "/bin/sh -c 'echo [secret] >&2; exit 7' failed (exit 7): [secret]",
    );
  });

  it("fails clearly for a missing command", async () => {
    await expect(run(["gantry-no-such-command", "x"])).rejects.toThrow(
      "gantry-no-such-command x: command not found",
    );
  });

  it("kills the whole process group on timeout", async () => {
    const started = Date.now();
    await expect(run(["/bin/sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 300 })).rejects.toThrow(
      "timed out after 0.3s",
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("is cancelled by the abort signal", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(run(["sleep", "30"], { signal: ac.signal })).rejects.toThrow(
      "sleep 30: cancelled",
    );
  });

  it("returns when the command exits even if a daemon it started keeps the pipes", async () => {
    const started = Date.now();
    const r = await run(["/bin/sh", "-c", "(sleep 5 &) ; echo started"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("started\n");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("quotes only the arguments that need it", () => {
    expect(formatArgv(["apt-get", "install", "nginx=1.2-1", "it's here"])).toBe(
      "apt-get install nginx=1.2-1 'it'\\''s here'",
    );
  });
});
