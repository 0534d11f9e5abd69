import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

/** Read an SSE stream until `done(text)` holds, then cancel it. */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  let text = "";
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  return text;
}

const ids = (text: string): number[] =>
  [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

describe("watch replay", () => {
  it("sends one event per revision, so Last-Event-ID resumes without repeats", async () => {
    const a = await t.admin.kvPut("replay/a", "1");
    const b = await t.admin.kvPut("replay/b", "2");
    const c = await t.admin.kvDelete("replay/", { recurse: true });
    const auth = { authorization: `Bearer ${t.adminToken}` };

    // Replayed history arrives from the store in one batch; each revision is its own event.
    const all = await fetch(`${t.url}/v1/watch/kv/replay/?recurse&start=${a}`, { headers: auth });
    const text = await readUntil(all, (s) => s.includes(`id: ${c}\n`));
    expect(ids(text)).toEqual([a, b, c]);
    const events = [...text.matchAll(/^data: (.*)$/gm)]
      .map((m) => JSON.parse(m[1]!) as { revision: number; events?: { modRevision: number }[] })
      .filter((d) => d.events !== undefined);
    for (const d of events) expect(d.events!.every((e) => e.modRevision === d.revision)).toBe(true);

    const resumed = await fetch(`${t.url}/v1/watch/kv/replay/?recurse`, {
      headers: { ...auth, "last-event-id": String(a) },
    });
    expect(ids(await readUntil(resumed, (s) => s.includes(`id: ${c}\n`)))).toEqual([b, c]);
  });

  it("answers HEAD with the stream's headers and no body", async () => {
    const res = await fetch(`${t.url}/v1/watch/kv/replay/?recurse`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${t.adminToken}` },
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  });
});
