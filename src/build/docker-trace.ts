/**
 * BuildKit's progress, as the engine streams it from `POST /build?version=2`: JSON lines, the
 * progress in `{"id":"moby.buildkit.trace","aux":"<base64 StatusResponse>"}`, then
 * `{"id":"moby.image.id","aux":{"ID":…}}` or `{"error":…}`. BuildTrace turns them into the lines
 * `docker build --progress=plain` prints (`#3 [2/3] COPY . /app`, step output, `#3 DONE 0.2s`,
 * `#4 ERROR: …`).
 */
import { all, bytes, num, readFields, str, timestamp } from "./protowire.js";

/** One step of a build (BuildKit's Vertex). */
export interface Vertex {
  digest: string;
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error: string;
}

/** Output of a step (BuildKit's VertexLog). */
export interface VertexLog {
  vertex: string;
  data: Uint8Array;
}

export interface StatusResponse {
  vertexes: Vertex[];
  logs: VertexLog[];
}

/** Decode the base64 `aux` of a `moby.buildkit.trace` line (control.proto StatusResponse). */
export function decodeStatus(aux: string): StatusResponse {
  const msg = readFields(Buffer.from(aux, "base64"));
  const vertexes = all(msg, 1).map((b): Vertex => {
    const f = readFields(b);
    const started = timestamp(f, 5);
    const completed = timestamp(f, 6);
    return {
      digest: str(f, 1),
      name: str(f, 3),
      cached: num(f, 4) !== 0,
      ...(started === undefined ? {} : { started }),
      ...(completed === undefined ? {} : { completed }),
      error: str(f, 7),
    };
  });
  const logs = all(msg, 3).map((b): VertexLog => {
    const f = readFields(b);
    return { vertex: str(f, 1), data: bytes(f, 4) ?? new Uint8Array() };
  });
  return { vertexes, logs };
}

interface StepState {
  n: number;
  name: string;
  shown: boolean;
  ended: boolean;
  /** Output not yet ended by a newline. */
  rest: string;
}

/** What a finished build stream said. */
export interface TraceOutcome {
  /** The image id (`sha256:…`) when the build succeeded. */
  imageId?: string;
  /** The engine's error when it failed. */
  error?: string;
  /** The step that failed (`[2/2] RUN exit 3`), when one did. */
  failedStep?: string;
}

/**
 * Turns the engine's build stream, line by line, into readable build-log lines (given to `say`)
 * and remembers how it ended.
 */
export class BuildTrace {
  private readonly steps = new Map<string, StepState>();
  readonly outcome: TraceOutcome = {};

  constructor(private readonly say: (line: string) => void) {}

  /** One JSON line of the stream (blank lines and lines that are not JSON are ignored). */
  line(text: string): void {
    if (text.trim() === "") return;
    let msg: {
      id?: unknown;
      aux?: unknown;
      stream?: unknown;
      error?: unknown;
      errorDetail?: { message?: unknown };
    };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (msg.id === "moby.buildkit.trace" && typeof msg.aux === "string") {
      this.status(decodeStatus(msg.aux));
    } else if (msg.id === "moby.image.id" && typeof msg.aux === "object" && msg.aux !== null) {
      const id = (msg.aux as { ID?: unknown }).ID;
      if (typeof id === "string") this.outcome.imageId = id;
    } else if (msg.error !== undefined || msg.errorDetail !== undefined) {
      const m = msg.errorDetail?.message ?? msg.error;
      this.outcome.error = typeof m === "string" ? m : JSON.stringify(m);
    }
  }

  /** Flush step output that did not end with a newline. */
  end(): void {
    for (const s of this.steps.values()) this.flush(s);
  }

  private status(st: StatusResponse): void {
    for (const v of st.vertexes) this.vertex(v);
    for (const l of st.logs) {
      const s = this.steps.get(l.vertex);
      if (s === undefined) continue;
      this.show(s);
      const lines = (s.rest + Buffer.from(l.data).toString("utf8")).split(/\r?\n/);
      s.rest = lines.pop() ?? "";
      for (const line of lines) this.say(`#${s.n} ${line}`);
    }
  }

  private vertex(v: Vertex): void {
    let s = this.steps.get(v.digest);
    if (s === undefined) {
      s = { n: this.steps.size + 1, name: v.name, shown: false, ended: false, rest: "" };
      this.steps.set(v.digest, s);
    }
    if (s.ended) return;
    if (v.cached) {
      this.show(s);
      this.say(`#${s.n} CACHED`);
      s.ended = true;
    } else if (v.error !== "") {
      this.show(s);
      this.flush(s);
      this.say(`#${s.n} ERROR: ${v.error}`);
      if (this.outcome.failedStep === undefined) this.outcome.failedStep = s.name;
      s.ended = true;
    } else if (v.completed !== undefined) {
      this.show(s);
      this.flush(s);
      const secs = v.started === undefined ? 0 : (v.completed - v.started) / 1000;
      this.say(`#${s.n} DONE ${secs.toFixed(1)}s`);
      s.ended = true;
    } else if (v.started !== undefined) {
      this.show(s);
    }
  }

  private show(s: StepState): void {
    if (s.shown) return;
    s.shown = true;
    this.say(`#${s.n} ${s.name}`);
  }

  private flush(s: StepState): void {
    if (s.rest === "") return;
    this.say(`#${s.n} ${s.rest}`);
    s.rest = "";
  }
}
