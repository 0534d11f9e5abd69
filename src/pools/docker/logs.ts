import type Docker from "dockerode";
import { FrameParser } from "../../drivers/docker/frames.js";

/** A container's output so far (stdout and stderr in order; the last `tail` lines if given). */
export async function containerOutput(c: Docker.Container, tail?: number): Promise<string> {
  const raw = (await c.logs({
    follow: false,
    stdout: true,
    stderr: true,
    ...(tail === undefined ? {} : { tail }),
  })) as unknown as Buffer;
  return new FrameParser()
    .push(Buffer.from(raw))
    .map((b) => b.toString("utf8"))
    .join("");
}

/** The last `n` non-empty lines of `output`, for an error message. */
export function lastLines(output: string, n = 5): string {
  const lines = output.trim().split("\n").slice(-n);
  return lines.join("\n");
}
