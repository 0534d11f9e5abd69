import { webcrypto } from "node:crypto";

type X509 = typeof import("@peculiar/x509");
let loaded: Promise<X509> | undefined;

/** @peculiar/x509 with node's WebCrypto, loaded on first use (a CLI that never makes a certificate never pays for it). */
export function loadX509(): Promise<X509> {
  return (loaded ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })());
}

/** PEM text for DER bytes under `label`. */
export function pem(label: string, der: Buffer): string {
  const body = der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
