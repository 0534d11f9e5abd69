/**
 * Build .tar.gz archives entry by entry — including ones no honest packer would write (absolute
 * paths, `..`, links out) — to test what unpacks them.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface TarEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "FIFO" | "CharacterDevice";
  body?: string;
  linkpath?: string;
  mode?: number;
}

/** A gzipped tar of exactly these entries, in this order. */
export function tarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "File";
    const body = Buffer.from(type === "File" ? (e.body ?? "") : "");
    const header = new Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
      size: body.length,
      uid: 0,
      gid: 0,
      mtime: new Date(),
      ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    });
    header.encode();
    blocks.push(header.block!);
    if (body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** An app artifact from file contents (`{ "server.js": "…", Procfile: "web: node server.js" }`). */
export function appTarball(files: Record<string, string>): Buffer {
  return tarGz(Object.entries(files).map(([path, body]) => ({ path, body })));
}

/** Store an artifact where the server serves it (DATA_DIR/artifacts/<sha>.tar.gz); returns its sha. */
export function storeArtifact(dataDir: string, tgz: Buffer): string {
  const sha = createHash("sha256").update(tgz).digest("hex");
  mkdirSync(join(dataDir, "artifacts"), { recursive: true });
  writeFileSync(join(dataDir, "artifacts", `${sha}.tar.gz`), tgz);
  return sha;
}
