import { constants } from "node:os";
import type { ContainerCreateOptions } from "dockerode";
import type { TaskExit, TaskSpec } from "../driver.js";

/** The label every container of an instance carries: how the driver finds it again. */
export const INSTANCE_LABEL = "gantry.instance";
/** Marks containers Gantry made (and may remove). */
export const MANAGED_LABEL = "gantry.managed";

export const DEFAULT_MEMORY_MB = 512;
export const DEFAULT_PIDS = 512;
/** nobody:nogroup — the user a container runs as unless its image names one. */
export const NOBODY = "65534:65534";

/**
 * Runs the Procfile command (`$1`) with `/bin/sh -c`, as on Heroku. docker-init (pid 1) sends
 * a stop's SIGTERM to this wrapper only and exits, ending the whole container, the moment its
 * child does: a Procfile shell that dies on SIGTERM would take the app down mid-shutdown. So
 * the wrapper passes SIGTERM to every process of the container (as Heroku does) and, on a stop,
 * stays until all of them have ended (or the driver's SIGKILL after the grace period ends it
 * all). When the command ends by itself, so does the container, and with it what it left.
 */
export const STOP_WRAPPER = [
  "trap 'stopping=1; woke=1; kill -TERM -1 2>/dev/null' TERM INT",
  '/bin/sh -c "$1" & main=$!',
  // A trapped signal ends `wait` early (status > 128): wait again for the real status.
  'while :; do woke=; wait $main; code=$?; [ -z "$woke" ] && break; done',
  '[ -z "$stopping" ] && exit $code',
  "while :; do",
  "  others=",
  "  for p in /proc/[0-9]*; do case ${p#/proc/} in 1|$$) ;; *) others=1; break ;; esac; done",
  '  [ -z "$others" ] && exit $code',
  "  sleep 0.05",
  "done",
].join("\n");

/** What the driver learnt of the image before creating the container. */
export interface ImageFacts {
  ref: string;
  /** The image config's `User` ("" when the image does not set one). */
  user: string;
  /** Gantry's base image: the app's directory is bind-mounted into it. */
  base: boolean;
}

/**
 * Who the container runs as: the spec's user, else the image's USER, else nobody (65534).
 * An image without USER is not trusted with root: one that really needs it says `USER root`
 * (even then with every capability dropped and no-new-privileges).
 */
export function chooseUser(spec: Pick<TaskSpec, "user">, image: ImageFacts): string {
  if (spec.user !== undefined && spec.user !== "") return spec.user;
  return image.user !== "" ? image.user : NOBODY;
}

/** The engine's create options for a task (pure: everything it needs comes in). */
export function containerOptions(spec: TaskSpec, image: ImageFacts): ContainerCreateOptions {
  const c = spec.container ?? {};
  const memory = (c.memoryMb ?? DEFAULT_MEMORY_MB) * 1024 * 1024;
  const opts: ContainerCreateOptions = {
    Image: image.ref,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    User: chooseUser(spec, image),
    Labels: { ...spec.labels, [MANAGED_LABEL]: "1", [INSTANCE_LABEL]: spec.id },
    HostConfig: {
      // Host networking: the instance binds $PORT on the host like a process does, so the
      // agent's port allocator, its health checks and the router reach it unchanged, with no
      // NAT or userland proxy in the request path and no second port space to keep in step.
      NetworkMode: "host",
      SecurityOpt: ["no-new-privileges"],
      CapDrop: ["ALL"],
      PidsLimit: c.pids ?? DEFAULT_PIDS,
      Memory: memory,
      MemorySwap: memory, // no swap on top
      ReadonlyRootfs: c.readOnly === true,
      ...(c.readOnly === true ? { Tmpfs: { "/tmp": "rw,nosuid,nodev,size=64m" } } : {}),
      // docker-init is pid 1: it forwards signals to the command and reaps what it leaves.
      Init: true,
      // The engine never restarts anything by itself: Gantry's agent does, with its backoff.
      RestartPolicy: { Name: "no" },
      // The engine keeps a bounded copy; the driver copies it to spec.logFile as it comes.
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    },
  };
  if (spec.command !== "") {
    // A Procfile command is shell syntax, run as on Heroku (the image's ENTRYPOINT does not
    // wrap it); it is the wrapper's $1, never spliced into the wrapper's text.
    opts.Entrypoint = ["/bin/sh", "-c", STOP_WRAPPER, "gantry"];
    opts.Cmd = [spec.command];
  }
  if (image.base) {
    // Mounts (not Binds): a missing directory is an error, never silently created.
    opts.HostConfig!.Mounts = [
      { Type: "bind", Source: spec.cwd, Target: spec.cwd, ReadOnly: true },
    ];
    opts.WorkingDir = spec.cwd;
  }
  return opts;
}

const SIGNALS = constants.signals as Record<string, number>;

/**
 * How a container ended, from its exit status: docker-init reports a command killed by signal
 * n as 128+n, as a shell does, so that is read back as the signal (a command that itself exits
 * with 137 reads as SIGKILL too: the two cannot be told apart).
 */
export function exitFromStatus(status: number | null | undefined): TaskExit {
  if (status === null || status === undefined || status < 0)
    return { exitCode: null, signal: null };
  if (status > 128) {
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === status - 128);
    if (name !== undefined) return { exitCode: null, signal: name };
  }
  return { exitCode: status, signal: null };
}
