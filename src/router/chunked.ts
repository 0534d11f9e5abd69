/**
 * Chunked framing (RFC 9112 §7.1): find where a chunked body ends without decoding it, so chunks
 * are forwarded as they came. Heads are parsed in http1.ts.
 */
import { HeadError } from "./http1.js";

// Chunked framing states.
const SIZE = 0;
const SIZE_DIGITS = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER = 7;
const TRAILER_LINE = 8;
const TRAILER_LF = 9;
const END_LF = 10;
const TRAILER_NAME = 11;

/** Longest chunk-size line (size and extensions) and longest trailer section accepted. */
export const MAX_CHUNK_LINE = 4096;
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

/**
 * Finds where a chunked body ends without copying it: sizes and CRLFs are checked byte by byte,
 * chunk data is skipped by arithmetic. Trailers are passed through.
 */
export class ChunkedFramer {
  private state = SIZE;
  private remaining = 0;
  private digits = 0;
  /** Bytes of the current size line, or of the trailer section so far. */
  private lineBytes = 0;

  /**
   * Consume bytes of `buf` from `start`. Returns the index just past the end of the body when it
   * ends inside `buf`, or -1 when every byte belongs to the body and more are needed.
   */
  feed(buf: Buffer, start: number): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case DATA: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = DATA_CR;
          continue;
        }
        case SIZE:
        case SIZE_DIGITS: {
          const c = buf[i]!;
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.digits > 12) throw new HeadError(400, "chunk size too large");
            this.remaining = this.remaining * 16 + d;
            this.state = SIZE_DIGITS;
          } else if (this.state === SIZE) {
            throw new HeadError(400, "malformed chunk size");
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.state = EXT;
          } else if (c === 13) {
            this.state = SIZE_LF;
          } else {
            throw new HeadError(400, "malformed chunk size");
          }
          break;
        }
        case EXT: {
          const c = buf[i]!;
          if (++this.lineBytes > MAX_CHUNK_LINE)
            throw new HeadError(400, "chunk extension too long");
          if (c === 13) this.state = SIZE_LF;
          else if ((c < 32 && c !== 9) || c === 127)
            throw new HeadError(400, "malformed chunk extension");
          break;
        }
        case SIZE_LF:
          if (buf[i] !== 10) throw new HeadError(400, "malformed chunk size line");
          this.digits = 0;
          this.lineBytes = 0;
          this.state = this.remaining === 0 ? TRAILER : DATA;
          break;
        case DATA_CR:
          if (buf[i] !== 13) throw new HeadError(400, "chunk data longer than its size");
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== 10) throw new HeadError(400, "chunk data longer than its size");
          this.state = SIZE;
          break;
        case TRAILER:
          if (buf[i] === 13) this.state = END_LF;
          else if (TCHAR.test(String.fromCharCode(buf[i]!))) this.state = TRAILER_NAME;
          else throw new HeadError(400, "malformed trailer");
          this.trailerByte();
          break;
        case TRAILER_NAME: {
          // A field name, then a colon right after it (no space before the colon, as in heads).
          const c = buf[i]!;
          if (c === 58 /* : */) this.state = TRAILER_LINE;
          else if (!TCHAR.test(String.fromCharCode(c)))
            throw new HeadError(400, "malformed trailer");
          this.trailerByte();
          break;
        }
        case TRAILER_LINE: {
          const c = buf[i]!;
          this.trailerByte();
          if (c === 13) this.state = TRAILER_LF;
          else if ((c < 32 && c !== 9) || c === 127) throw new HeadError(400, "malformed trailer");
          break;
        }
        case TRAILER_LF:
          if (buf[i] !== 10) throw new HeadError(400, "malformed trailer");
          this.state = TRAILER;
          break;
        case END_LF:
          if (buf[i] !== 10) throw new HeadError(400, "malformed end of chunked body");
          this.reset();
          return i + 1;
      }
      i++;
    }
    return -1;
  }

  private trailerByte(): void {
    if (++this.lineBytes > MAX_CHUNK_LINE) throw new HeadError(400, "trailer section too large");
  }

  reset(): void {
    this.state = SIZE;
    this.remaining = 0;
    this.digits = 0;
    this.lineBytes = 0;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
