/**
 * The floor for any HTTPS server built on Node's tls module, beside the router in
 * `npm run bench:tls`'s new-connection runs: TLS set up as src/router/https.ts does it (one
 * secure context made with createSecureContext, picked by an SNICallback), and nothing else — every
 * request gets a fixed 200 and the connection closes. What the router costs above this is the
 * router's own; what this costs above nginx is Node's.
 *
 * Usage: node bare-node.mjs PORT CERT_FILE KEY_FILE (prints "up" once listening)
 */
import { readFileSync } from "node:fs";
import { createSecureContext, createServer } from "node:tls";

const [port, certFile, keyFile] = process.argv.slice(2);
const ctx = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const answer = "HTTP/1.1 200 OK\r\ncontent-length: 12\r\nconnection: close\r\n\r\nhello world\n";
const server = createServer({ SNICallback: (_name, cb) => cb(null, ctx) }, (socket) => {
  socket.setNoDelay(true);
  socket.once("data", () => socket.end(answer));
  socket.on("error", () => undefined);
});
server.on("tlsClientError", () => undefined);
server.listen(Number(port), "127.0.0.1", () => console.log("up"));
