import type { IWatchRequest, IWatchResponse } from "etcd3";
import type { EtcdConnection } from "./connection.js";
import { num } from "./convert.js";
import { disposeStream, type DuplexStream } from "./streams.js";

/**
 * etcd's API has no "what is the compact revision" call, but a watch that starts below it is
 * cancelled with exactly that revision. This opens one on a single key from `below` (known to
 * be compacted) and reads the answer; etcd checks unsynced watchers every 100 ms.
 * Resolves undefined when no answer came in `timeoutMs` (e.g. `below` was not compacted).
 */
export async function probeCompactRevision(
  conn: EtcdConnection,
  below: number,
  timeoutMs = 1500,
): Promise<number | undefined> {
  const { client } = conn.pick();
  const stream = (await client.watchClient.watch(conn.streamOptions())) as DuplexStream<
    IWatchRequest,
    IWatchResponse
  >;
  try {
    return await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const done = (rev: number | undefined): void => {
        clearTimeout(timer);
        resolve(rev);
      };
      stream.on("data", (res) => {
        const rev = num(res.compact_revision);
        if (rev > 0) done(rev);
        else if (res.canceled) done(undefined);
      });
      stream.on("error", () => done(undefined));
      stream.on("end", () => done(undefined));
      stream.write({
        create_request: { key: Buffer.from([0]), start_revision: Math.max(1, below) },
      });
    });
  } finally {
    disposeStream(stream);
  }
}
