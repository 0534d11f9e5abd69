import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rawExchange, readAnswers } from "../../test/helpers/raw-client.js";
import { startRecordingRouter } from "../../test/helpers/recording-router.js";
import type { RecordingUpstream } from "../../test/helpers/recording-upstream.js";
import type { RunningRouter } from "./router.js";

// Request smuggling at the real router, with a real upstream that records the exact bytes it
// received: every case here must be refused (as nginx does, or stricter) and close the
// connection, and the upstream must have received nothing of it.

let up: RecordingUpstream;
let r: RunningRouter;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ up, r, close } = await startRecordingRouter());
});
afterAll(() => close());
beforeEach(() => up.clear());

const POST = "POST / HTTP/1.1\r\nHost: app.localhost\r\n";
const GET = "GET / HTTP/1.1\r\nHost: app.localhost\r\n";
const X = "x".repeat(17 * 1024);

/** [name, request bytes, the statuses nginx-or-stricter allows]. */
const refused: [string, string, number[]][] = [
  // CL.TE and TE.CL: both framings at once, whichever order, with a request hidden in the body.
  ["CL.TE", `${POST}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`, [400]],
  [
    "TE.CL",
    `${POST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n`,
    [400],
  ],
  ["CL.TE, TE empty", `${POST}Content-Length: 5\r\nTransfer-Encoding:\r\n\r\nhello`, [400, 501]],
  // TE.TE: obfuscated Transfer-Encodings one parser might read as chunked and another not.
  ["TE xchunked", `${POST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, [400, 501]],
  [
    "TE chunked, identity",
    `${POST}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    [400, 501],
  ],
  [
    "TE identity, chunked",
    `${POST}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`,
    [400, 501],
  ],
  ["TE gzip, chunked", `${POST}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, [400, 501]],
  ["TE chunked-false", `${POST}Transfer-Encoding: chunked-false\r\n\r\n0\r\n\r\n`, [400, 501]],
  ['TE "chunked"', `${POST}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`, [400, 501]],
  [
    "TE duplicated",
    `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n`,
    [400, 501],
  ],
  [
    "TE duplicated, both chunked",
    `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    [400, 501],
  ],
  ["TE space before colon", `${POST}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE tab before colon", `${POST}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE with vertical tab", `${POST}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE with form feed", `${POST}Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n`, [400]],
  ["TE name with a leading space", `${POST} Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE folded", `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE in HTTP/1.0", `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ["TE with bare-LF line end", `${POST}Transfer-Encoding: chunked\n\r\n0\r\n\r\n`, [400]],
  // Content-Length: duplicated (equal or not), lists, signs, junk.
  ["CL twice, equal", `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, [400]],
  ["CL twice, differing", `${POST}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, [400]],
  ["CL list", `${POST}Content-Length: 5, 5\r\n\r\nhello`, [400]],
  ["CL +5", `${POST}Content-Length: +5\r\n\r\nhello`, [400]],
  ["CL -1", `${POST}Content-Length: -1\r\n\r\n`, [400]],
  ["CL hex", `${POST}Content-Length: 0x5\r\n\r\nhello`, [400]],
  ["CL empty", `${POST}Content-Length:\r\n\r\n`, [400]],
  ["CL too big", `${POST}Content-Length: 99999999999999999999\r\n\r\n`, [400, 413]],
  ["CL space before colon", `${POST}Content-Length : 5\r\n\r\nhello`, [400]],
  ["CL folded", `${POST}Content-Length: 5\r\n 0\r\n\r\nhello`, [400]],
  // Folded (obs-fold) and malformed header lines.
  ["obs-fold with space", `${GET}X-A: 1\r\n folded\r\n\r\n`, [400]],
  ["obs-fold with tab", `${GET}X-A: 1\r\n\tfolded\r\n\r\n`, [400]],
  ["header without colon", `${GET}X-A 1\r\n\r\n`, [400]],
  ["empty header name", `${GET}: 1\r\n\r\n`, [400]],
  // NUL, CR and other control characters.
  ["NUL in a value", `${GET}X-A: a\x00b\r\n\r\n`, [400]],
  ["NUL in a name", `${GET}X\x00A: 1\r\n\r\n`, [400]],
  ["bare CR in a value", `${GET}X-A: a\rb\r\n\r\n`, [400]],
  ["bare CR ending a line", `${GET}X-A: a\r\rX-B: b\r\n\r\n`, [400]],
  ["bare LF in a value", `${GET}X-A: a\nb\r\n\r\n`, [400]],
  ["DEL in a value", `${GET}X-A: a\x7fb\r\n\r\n`, [400]],
  ["ESC in a value", `${GET}X-A: a\x1bb\r\n\r\n`, [400]],
  ["NUL in the target", `GET /a\x00b HTTP/1.1\r\nHost: app.localhost\r\n\r\n`, [400]],
  ["CR in the request line", `GET /a\rb HTTP/1.1\r\nHost: app.localhost\r\n\r\n`, [400]],
  // Host confusion.
  ["two Hosts", `GET / HTTP/1.1\r\nHost: app.localhost\r\nHost: evil\r\n\r\n`, [400]],
  ["no Host in HTTP/1.1", `GET / HTTP/1.1\r\n\r\n`, [400]],
  // Request line.
  ["HTTP/2.0 request line", `GET / HTTP/2.0\r\nHost: app.localhost\r\n\r\n`, [400, 505]],
  ["HTTP/1.1 with two spaces", `GET  / HTTP/1.1\r\nHost: app.localhost\r\n\r\n`, [400]],
  ["lowercase http", `GET / http/1.1\r\nHost: app.localhost\r\n\r\n`, [400]],
  // Oversized heads (nginx: 400/414 past large_client_header_buffers; here 431 past 16 KB).
  ["one huge header", `${GET}X-A: ${X}\r\n\r\n`, [400, 414, 431]],
  ["many headers", `${GET}${"X-A: 1234567890\r\n".repeat(1200)}\r\n`, [400, 431]],
  ["huge target", `GET /${X} HTTP/1.1\r\nHost: app.localhost\r\n\r\n`, [400, 414, 431]],
  ["huge head never ending", `${GET}X-A: ${X}`, [400, 414, 431]],
];

/** Chunked bodies whose framing is wrong: the head goes upstream, so the message must be cut. */
const badChunks: [string, string][] = [
  ["size with 0x", "0x5\r\nhello\r\n0\r\n\r\n"],
  ["negative size", "-5\r\nhello\r\n0\r\n\r\n"],
  ["size with a leading space", " 5\r\nhello\r\n0\r\n\r\n"],
  ["size with a plus", "+5\r\nhello\r\n0\r\n\r\n"],
  ["no size", "\r\nhello\r\n0\r\n\r\n"],
  ["size overflowing 2^64", "10000000000000005\r\nhello\r\n0\r\n\r\n"],
  ["size line ends in bare LF", "5\nhello\r\n0\r\n\r\n"],
  ["data longer than its size", "3\r\nhello\r\n0\r\n\r\n"],
  ["data without CRLF after it", "5\r\nhelloX0\r\n\r\n"],
  ["extension with NUL", "5;a=\x00\r\nhello\r\n0\r\n\r\n"],
  ["extension with bare LF", "5;a\nb\r\nhello\r\n0\r\n\r\n"],
  ["extension longer than 4 KB", `5;${"a".repeat(5000)}\r\nhello\r\n0\r\n\r\n`],
  ["trailer that is folded", "0\r\nX-T: 1\r\n folded\r\n\r\n"],
  ["trailer without a name", "0\r\n: 1\r\n\r\n"],
  ["trailer with space before colon", "0\r\nX-T : 1\r\n\r\n"],
  ["trailer section over 4 KB", `0\r\nX-T: ${"t".repeat(5000)}\r\n\r\n`],
  ["end without final CRLF", "0\r\n\r\rGET / HTTP/1.1\r\n\r\n"],
];

describe("request smuggling at the edge", () => {
  it.each(refused)("refuses %s, closes, forwards nothing", async (_name, bytes, allowed) => {
    const res = await rawExchange(r.address.port, [bytes]);
    const answers = readAnswers(res.data);
    expect(answers, res.data.slice(0, 200)).not.toBeNull();
    expect(answers!.length).toBe(1);
    expect(allowed).toContain(answers![0]!.status);
    expect(answers![0]!.headers["connection"]).toBe("close");
    expect(res.closed).toBe(true);
    expect(up.all()).toBe("");
    expect(up.requests).toBe(0);
  });

  it.each(badChunks)(
    "cuts a chunked body with %s: 400 and close, the upstream never sees a complete message",
    async (_name, body) => {
      const res = await rawExchange(r.address.port, [
        `${POST}Transfer-Encoding: chunked\r\n\r\n${body}`,
      ]);
      expect(res.closed).toBe(true);
      const answers = readAnswers(res.data);
      // 400 before any answer started; the upstream's answer cannot have started (no complete
      // message reached it), so the client always gets the 400.
      expect(answers, res.data.slice(0, 200)).toEqual([expect.objectContaining({ status: 400 })]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(up.requests).toBe(0);
      expect(up.ambiguous).toEqual([]);
    },
  );

  it("refuses a second, smuggling request after answering the first: only the first goes on", async () => {
    const first = `${POST}Content-Length: 5\r\n\r\nhello`;
    const res = await rawExchange(r.address.port, [
      first + `${POST}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ]);
    const answers = readAnswers(res.data)!;
    expect(answers.map((a) => a.status)).toEqual([200, 400]);
    expect(answers[0]!.body).toBe("up:1");
    expect(res.closed).toBe(true);
    expect(up.requests).toBe(1);
    const sent = up.all();
    expect(sent.startsWith("POST / HTTP/1.1\r\nHost: app.localhost\r\n")).toBe(true);
    expect(sent).toMatch(/\r\ncontent-length: 5\r\n(?:[^\r\n]+\r\n)*\r\nhello$/);
    expect(sent).not.toMatch(/transfer-encoding/i);
  });

  it("forwards legal variants with framing re-stated once, and a body-hidden request stays body", async () => {
    const cases: [string, string, string][] = [
      [
        "TE with spaces and tabs around",
        `${POST}Transfer-Encoding: \t chunked \t\r\n\r\n`,
        "chunked",
      ],
      ["TE in capitals", `${POST}TRANSFER-ENCODING: CHUNKED\r\n\r\n`, "chunked"],
      ["CL with spaces", `${POST}Content-Length:  5 \r\n\r\n`, "length"],
    ];
    for (const [name, head, kind] of cases) {
      up.clear();
      const body = kind === "chunked" ? "5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" : "GET /";
      const res = await rawExchange(r.address.port, [head + body + GET + "\r\n"], {
        waitMs: 500,
      });
      const answers = readAnswers(res.data)!;
      expect(
        answers.map((a) => a.status),
        name,
      ).toEqual([200, 200]);
      expect(up.requests, name).toBe(2);
      expect(up.ambiguous, name).toEqual([]);
      const sent = up.all();
      const framing = sent.match(/^(content-length|transfer-encoding):.*$/gim) ?? [];
      expect(framing, name).toEqual([
        kind === "chunked" ? "transfer-encoding: chunked" : "content-length: 5",
      ]);
      // The body went on unchanged (chunks as they came).
      expect(sent, name).toContain(`\r\n\r\n${body}GET / HTTP/1.1\r\n`);
    }
  });
});
