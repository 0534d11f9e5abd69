/**
 * The `location /` block both nginx benches give nginx: proxy to an upstream with kept-alive
 * connections and the same forwarded headers the router sets, so the comparison is like for like.
 */
export const proxyLocation = (upstream: string): string => `location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }`;
