/**
 * One request to an `ssh` pool's host: the system OpenSSH client (argv, never a local shell),
 * the fixed remote command of ./remote.ts, the request as JSON on stdin, the answer as the last
 * JSON line on stdout. A host without the bundle gets it uploaded, then is asked again.
 */
import { conflict, GantryError, ValidationError } from "../../errors.js";
import type { SshPoolSettings } from "../../model/pool.js";
import { sshArgs } from "../../converge/ssh/argv.js";
import { runSsh, type SshExit } from "../../converge/ssh/exec.js";
import type { AgentBundle } from "./bundle.js";
import type { HostNode, HostRequest, HostResponse } from "./protocol.js";
import {
  EXIT_NO_BUNDLE,
  EXIT_NO_NODE,
  EXIT_SHORT_UPLOAD,
  EXIT_SSH,
  hostCommand,
  uploadCommand,
} from "./remote.js";

export interface HostLink {
  ssh: Pick<SshPoolSettings, "user" | "port" | "options"> & { identityFile?: string | undefined };
  root: string;
  bundle: () => Promise<AgentBundle>;
  controlDir: string;
  /** Give up on one ssh run after this long (it is killed). */
  timeoutMs: number;
  sshBin?: string;
}

/** The host cannot be reached (ssh could not connect or log in). */
export class HostUnreachableError extends GantryError {
  constructor(host: string, why: string) {
    super("host_unreachable", `host ${host} cannot be reached: ${why}`, { status: 503 });
  }
}

/** Ask `host` to do `req`; its nodes as it answers, or its error raised here. */
export async function hostRequest(
  link: HostLink,
  host: string,
  req: HostRequest,
): Promise<HostNode[]> {
  const bundle = await link.bundle();
  const args = sshArgs(
    {
      name: host,
      address: host,
      port: link.ssh.port,
      user: link.ssh.user,
      roles: [],
      vars: {},
      labels: {},
      become: false,
      groups: [],
    },
    { options: link.ssh.options, identityFile: link.ssh.identityFile },
    link.controlDir,
  );
  const run = async (
    command: string,
    stdin: string | Buffer,
  ): Promise<{ exit: SshExit; lines: string[] }> => {
    const lines: string[] = [];
    const exit = await runSsh({
      args,
      command,
      stdin,
      stop: AbortSignal.timeout(link.timeoutMs),
      killAfterMs: 2000,
      onLine: (l) => lines.push(l),
      ...(link.sshBin === undefined ? {} : { bin: link.sshBin }),
    });
    if (exit.stopped)
      throw new GantryError("host_timeout", `host ${host}: no answer within ${link.timeoutMs} ms`);
    if (exit.code === EXIT_SSH) throw new HostUnreachableError(host, tail(exit.stderr));
    return { exit, lines };
  };
  const command = hostCommand(link.root, bundle.hash, req.op);
  let { exit, lines } = await run(command, JSON.stringify(req) + "\n");
  if (exit.code === EXIT_NO_BUNDLE) {
    const up = await run(
      uploadCommand(link.root, bundle.hash, bundle.content.length),
      bundle.content,
    );
    if (up.exit.code !== 0) {
      const why =
        up.exit.code === EXIT_SHORT_UPLOAD ? "it arrived cut short" : `exit ${up.exit.code}`;
      throw new GantryError(
        "host_failed",
        `host ${host}: cannot upload the agent (${why}): ${tail(up.exit.stderr)}`,
      );
    }
    ({ exit, lines } = await run(command, JSON.stringify(req) + "\n"));
  }
  if (exit.code === EXIT_NO_NODE)
    throw new GantryError(
      "host_failed",
      `host ${host}: ${tail(exit.stderr)} — the agent needs Node.js ≥ 20 there`,
    );
  const answer = lastJson(lines);
  if (answer === undefined)
    throw new GantryError(
      "host_failed",
      `host ${host}: no answer (exit ${exit.code}): ${tail(exit.stderr)}`,
    );
  if ("ok" in answer) return answer.ok;
  const { code, message, field } = answer.error;
  const text = `host ${host}: ${message}`;
  if (code === "conflict") throw conflict(text);
  if (code === "invalid_argument") throw new ValidationError(text, field);
  throw new GantryError(code, text);
}

function lastJson(lines: string[]): HostResponse | undefined {
  for (const line of [...lines].reverse()) {
    if (!line.startsWith("{")) continue;
    try {
      const v = JSON.parse(line) as Partial<{ ok: unknown; error: unknown }>;
      if (Array.isArray(v.ok) || (typeof v.error === "object" && v.error !== null))
        return v as HostResponse;
    } catch {
      // A chatty login shell's line: not the answer.
    }
  }
  return undefined;
}

function tail(stderr: string, n = 3): string {
  const lines = stderr
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  return lines.length === 0 ? "(no message)" : lines.slice(-n).join("; ");
}
