import { createHash } from "node:crypto";

/**
 * The key id distribution gives a trusted key (docker/libtrust's fingerprint): SHA-256 of the
 * public key's DER SubjectPublicKeyInfo, cut to 240 bits, base32 without padding, in groups of
 * four joined by ':'. The registry looks a token's `kid` up by this id among the keys of its
 * rootcertbundle.
 */
export function libtrustKeyId(spkiDer: Uint8Array): string {
  const digest = createHash("sha256").update(spkiDer).digest().subarray(0, 30);
  return base32(digest)
    .match(/.{1,4}/g)!
    .join(":");
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (30 bytes make exactly 48 characters, so none is needed). */
function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
