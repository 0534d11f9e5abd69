/**
 * A small method + path router. Patterns are literal segments, `:name` (one segment) and a
 * trailing `*name` (the rest of the path, may be empty or contain slashes — KV keys do).
 * Written here rather than taken from a framework because the API's hot path (KV puts) should
 * cost one split and a few string compares.
 */
export type Params = Record<string, string>;

interface Route<H> {
  method: string;
  segments: string[];
  handler: H;
}

export interface Match<H> {
  handler: H;
  params: Params;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, segments: pattern.split("/").filter((s) => s !== ""), handler });
    return this;
  }

  /** The handler for a request, `undefined` for no such path, `"method"` when only the method is wrong. */
  match(method: string, path: string): Match<H> | "method" | undefined {
    const parts = path.split("/");
    if (parts[0] === "") parts.shift();
    let wrongMethod = false;
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (params === undefined) continue;
      if (r.method !== method && !(method === "HEAD" && r.method === "GET")) {
        wrongMethod = true;
        continue;
      }
      return { handler: r.handler, params };
    }
    return wrongMethod ? "method" : undefined;
  }

  /** Every route, for the OpenAPI document and tests. */
  list(): { method: string; pattern: string }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: "/" + r.segments.join("/") }));
  }
}

function matchSegments(pattern: string[], parts: string[]): Params | undefined {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg.startsWith("*")) {
      params[seg.slice(1)] = parts.slice(i).join("/");
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith(":")) {
      if (part === "") return undefined;
      params[seg.slice(1)] = part;
    } else if (seg !== part) return undefined;
  }
  return parts.length === pattern.length ||
    (parts.length === pattern.length + 1 && parts.at(-1) === "")
    ? params
    : undefined;
}
