// examples/hello: answers "Hello from <app>" (and $GREETING when set) on $PORT; stops cleanly on
// SIGTERM (in-flight requests finish, then the process exits), as Gantry's rolling deploys expect.
import { createServer } from "node:http";

const app = process.env.GANTRY_APP ?? "hello";
const port = Number(process.env.PORT ?? 5000);

const server = createServer((req, res) => {
  const greeting = process.env.GREETING;
  const body = `Hello from ${app}\n${greeting === undefined ? "" : `GREETING=${greeting}\n`}`;
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
});

server.listen(port, () => console.log(`hello: listening on ${port}`));

const stop = (signal) => {
  console.log(`hello: ${signal}, closing`);
  server.close(() => process.exit(0));
  // Idle keep-alive connections would hold close() open; in-flight requests still finish.
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
