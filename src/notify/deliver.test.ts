import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { checkSignature } from "../gitops/signature.js";
import { deliver } from "./deliver.js";

const payload = { event: "test" as const, app: "hello", text: "hello: test", at: "t" };

describe("deliver", () => {
  it("signs the body and gives up on a receiver that does not answer in time", async () => {
    const seen: { sig: string; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({
          sig: String(req.headers["x-gantry-signature-256"]),
          body: Buffer.concat(chunks),
        });
        if (req.url === "/hang") return; // never answers
        res.writeHead(req.url === "/gone" ? 410 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await deliver(`${base}/ok`, "k", payload)).toEqual({ ok: true, status: 204 });
      // The same scheme as GitHub's X-Hub-Signature-256: its checker accepts it.
      const { sig, body } = seen[0]!;
      expect(checkSignature({ "x-hub-signature-256": sig }, body, "k").ok).toBe(true);
      expect(checkSignature({ "x-hub-signature-256": sig }, body, "other").ok).toBe(false);
      expect(await deliver(`${base}/gone`, "k", payload)).toEqual({
        ok: false,
        status: 410,
        error: "the receiver answered 410",
      });
      const t0 = Date.now();
      expect(await deliver(`${base}/hang`, "k", payload, 300)).toEqual({
        ok: false,
        error: "no answer within 0.3 s",
      });
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
