/**
 * Small helpers for scenarios that drive real processes: waiting on a condition, node child
 * processes with their output collected, and what a failed CLI command must look like.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import type { CliResult } from "./gantry.js";

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Base64 to UTF-8 text. */
export const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
/** n consecutive numbers starting at from. */
export const range = (n: number, from = 0): number[] =>
  Array.from({ length: n }, (_, i) => from + i);
/** The non-empty lines of s. */
export const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");
const STACK_FRAME = /^\s+at /m;

/** Poll cond every 10 ms until it holds; throws after timeoutMs naming what. */
export async function waitFor(
  what: string,
  cond: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A `node ARGS…` process with its output collected. */
export function startNode(args: string[]): {
  child: ChildProcess;
  output: () => string;
  done: Promise<CliResult>;
} {
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res, rej) => {
    child.on("error", rej);
    child.on("close", (code) => res({ code: code ?? 1, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

/** Every complete line a child prints on stdout, as it prints it. */
export function stdoutLines(child: ChildProcess): string[] {
  const seen: string[] = [];
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop()!;
    seen.push(...parts);
  });
  return seen;
}

/** The child's exit code, once it has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((res) => child.once("exit", (code) => res(code)));
}

/** A failed command: non-zero, nothing on stdout, no stack trace; returns its stderr lines. */
export function failure(r: CliResult): string[] {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(STACK_FRAME);
  return lines(r.stderr);
}
