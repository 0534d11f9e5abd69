/**
 * A minimal protobuf wire-format reader: enough to read BuildKit's StatusResponse (docker-trace.ts).
 *
 * Hand-written rather than protobufjs: the four messages read are small and fixed, a reader of
 * the wire format is a few dozen lines, and it spares a schema file and a direct dependency.
 */

/** One field as it sits on the wire: a varint's value, or a length-delimited field's bytes. */
export type WireField =
  | { no: number; kind: "varint"; value: number }
  | { no: number; kind: "bytes"; value: Uint8Array }
  | { no: number; kind: "fixed" };

/** A message that is not valid protobuf (cut short, or an unknown wire type). */
export class WireError extends Error {}

function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new WireError("a varint runs past the end of the message");
    const b = buf[pos++]!;
    // Multiplication, not shifts: values above 2^31 (timestamps' seconds) stay exact to 2^53.
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos];
  }
  throw new WireError("a varint longer than 10 bytes");
}

/** The fields of one message, in wire order (repeated fields appear once per value). */
export function readFields(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = varint(buf, pos);
    pos = afterKey;
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const [value, next] = varint(buf, pos);
      out.push({ no, kind: "varint", value });
      pos = next;
    } else if (wire === 2) {
      const [len, start] = varint(buf, pos);
      if (start + len > buf.length) throw new WireError("a field runs past the end of the message");
      out.push({ no, kind: "bytes", value: buf.subarray(start, start + len) });
      pos = start + len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > buf.length) throw new WireError("a field runs past the end of the message");
      out.push({ no, kind: "fixed" });
    } else {
      throw new WireError(`wire type ${wire} is not supported`);
    }
  }
  return out;
}

const utf8 = new TextDecoder();

/** The last string value of field `no` ("" when absent), as proto3 reads a scalar. */
export function str(fields: WireField[], no: number): string {
  const b = bytes(fields, no);
  return b === undefined ? "" : utf8.decode(b);
}

/** The last bytes of field `no`. */
export function bytes(fields: WireField[], no: number): Uint8Array | undefined {
  let v: Uint8Array | undefined;
  for (const f of fields) if (f.no === no && f.kind === "bytes") v = f.value;
  return v;
}

/** The last varint of field `no` (0 when absent). */
export function num(fields: WireField[], no: number): number {
  let v = 0;
  for (const f of fields) if (f.no === no && f.kind === "varint") v = f.value;
  return v;
}

/** Every bytes value of a repeated field `no`. */
export function all(fields: WireField[], no: number): Uint8Array[] {
  return fields.flatMap((f) => (f.no === no && f.kind === "bytes" ? [f.value] : []));
}

/** A google.protobuf.Timestamp field as milliseconds since the epoch (undefined when absent). */
export function timestamp(fields: WireField[], no: number): number | undefined {
  const b = bytes(fields, no);
  if (b === undefined) return undefined;
  const t = readFields(b);
  return num(t, 1) * 1000 + Math.floor(num(t, 2) / 1e6);
}
