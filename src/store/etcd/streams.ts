import type { IDuplexStream } from "etcd3";

/** etcd3 types its streams narrowly; underneath they are grpc-js duplex streams. */
export type DuplexStream<Req, Res> = IDuplexStream<Req, Res> & {
  pause(): void;
  resume(): void;
  removeAllListeners(): void;
};

/**
 * Close a stream without side effects: half-close first, so etcd3's error listener (which
 * only reacts while the stream is writable) does not take our own cancel for a failing
 * member and reset its connections.
 */
export function disposeStream(stream: IDuplexStream<unknown, unknown>): void {
  const s = stream as DuplexStream<unknown, unknown>;
  s.on("error", () => undefined);
  try {
    s.end();
  } catch {
    // already ended
  }
  s.cancel();
}
