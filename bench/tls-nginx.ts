/**
 * nginx (Debian's) as the HTTPS reverse proxy `npm run bench:tls` compares the router with: the
 * same certificate and key, TLS 1.2 and 1.3 as the router accepts (clients negotiate 1.3), a
 * keep-alive upstream over HTTP/1.1 to the same app instance, the forwarding headers the router
 * sets, and `worker_processes` given by the caller. Access logs off, as the router keeps none.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { proxyLocation } from "./nginx-proxy.js";

export interface NginxTls {
  child: ChildProcess;
  /** The master's pid (its workers are its children). */
  pid: number;
  stop(): void;
}

/** Start nginx in `dir` on 127.0.0.1:`port` for `host`; resolves once its master runs. */
export function startNginxTls(o: {
  dir: string;
  port: number;
  appPort: number;
  host: string;
  certFile: string;
  keyFile: string;
  workers: number;
}): NginxTls {
  const { dir } = o;
  mkdirSync(join(dir, "logs"), { recursive: true });
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes ${o.workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  # The router does not close a busy kept-alive connection after n requests either.
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${o.appPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${o.port} ssl;
    server_name ${o.host};
    ssl_certificate ${o.certFile};
    ssl_certificate_key ${o.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ${proxyLocation("app")}
  }
}
`,
  );
  const bin = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
  const child = spawn(bin, ["-p", dir, "-c", conf], { stdio: ["ignore", "inherit", "inherit"] });
  return { child, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}
