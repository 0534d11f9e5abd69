/**
 * A Server-Sent Events reader for tests: a real HTTP request (fetch), its body parsed into
 * events as they arrive. `next(match)` waits for the next event that matches; `ended` tells
 * when the server closed the stream.
 */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: unknown;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  /** Everything received, as text (to check what never travels on it). */
  raw = "";
  done = false;
  private seen = 0;
  private wake: (() => void) | undefined;
  readonly ended: Promise<void>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly res: Response) {
    this.reader = res.body!.getReader();
    this.ended = this.pump();
  }

  private async pump(): Promise<void> {
    const reader = this.reader;
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        this.raw += chunk;
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          this.parse(buf.slice(0, end));
          buf = buf.slice(end + 2);
        }
        this.wake?.();
      }
    } catch {
      // cancelled by close()
    } finally {
      this.done = true;
      this.wake?.();
    }
  }

  private parse(block: string): void {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) return;
    this.events.push({ event, id, data: JSON.parse(data.join("\n")) as unknown });
  }

  /** The next event not returned before that satisfies `match`; fails after `timeoutMs`. */
  async next(match: (e: SseEvent) => boolean = () => true, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.seen < this.events.length) {
        const e = this.events[this.seen++]!;
        if (match(e)) return e;
      }
      if (this.done) throw new Error(`the stream ended; events: ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event in ${timeoutMs} ms: ${this.raw}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
    await this.ended;
  }
}

/** Open an event stream (a GET with a bearer token and any headers). */
export async function openSse(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers } });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return new SseReader(res);
}
