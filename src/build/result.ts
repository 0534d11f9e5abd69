/**
 * The last line of a build stream (`POST /v1/apps/:app/builds`) is machine-readable, so the git
 * hook and the CLI can tell success from failure without parsing prose:
 *
 *   gantry:result {"ok":true,"release":3,"url":"http://hello.localhost:8080/"}
 *   gantry:result {"ok":false,"error":"no Procfile and no package.json start script …"}
 *
 * This file is imported by the hook process: it must stay free of other project imports.
 */
export const RESULT_PREFIX = "gantry:result ";

export interface BuildStreamResult {
  ok: boolean;
  /** The build id, when a build record was made. */
  build?: string;
  /** sha256 of the artifact the build produced. */
  artifact?: string;
  /** The image it built, pinned by digest (a Dockerfile build). */
  image?: string;
  /** The release version that now serves. */
  release?: number;
  url?: string;
  error?: string;
}

/** The result line (without the trailing newline). */
export function formatResult(result: BuildStreamResult): string {
  return RESULT_PREFIX + JSON.stringify(result);
}

/** The result carried by a line, or undefined when the line is ordinary output. */
export function parseResult(line: string): BuildStreamResult | undefined {
  if (!line.startsWith(RESULT_PREFIX)) return undefined;
  try {
    const value = JSON.parse(line.slice(RESULT_PREFIX.length)) as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const ok = (value as { ok?: unknown }).ok;
    return typeof ok === "boolean" ? (value as BuildStreamResult) : undefined;
  } catch {
    return undefined;
  }
}
