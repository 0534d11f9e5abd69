/**
 * Hand-made tar archives for tests that need entries no well-behaved tar tool writes:
 * `../` paths, absolute paths, links pointing out, devices.
 */
export interface RawEntry {
  path: string;
  /** "0" file, "1" hard link, "2" symlink, "3" char device, "5" directory. */
  type?: "0" | "1" | "2" | "3" | "5";
  body?: string;
  linkpath?: string;
  mode?: number;
}

function field(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, Math.min(length, Buffer.byteLength(value)), "utf8");
}

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, "0") + "\0";

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  field(h, 0, 100, e.path);
  field(h, 100, 8, octal(e.mode ?? 0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(1_000_000_000, 12));
  field(h, 148, 8, "        ");
  field(h, 156, 1, e.type ?? "0");
  field(h, 157, 100, e.linkpath ?? "");
  field(h, 257, 6, "ustar\0");
  field(h, 263, 2, "00");
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A tar archive (uncompressed) of these entries, in order. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.type === undefined || e.type === "0" ? (e.body ?? "") : "");
    parts.push(header(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
