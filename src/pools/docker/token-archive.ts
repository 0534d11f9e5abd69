import { Header } from "tar";

/**
 * A tar archive of one root-owned file, made in memory: how a node token reaches its container
 * (`PUT /containers/:id/archive` before it starts) without touching the host's disk, the
 * container's command line or its environment. Parent directories are made by the engine.
 */
export function fileArchive(path: string, content: string, mode = 0o600): Buffer {
  const data = Buffer.from(content);
  const header = new Header({
    path: path.replace(/^\/+/, ""),
    mode,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: new Date(),
    type: "File",
  });
  header.encode();
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  // Two zero blocks end the archive.
  return Buffer.concat([header.block!, data, pad, Buffer.alloc(1024)]);
}
