/** One certificate of `GET /v1/certs/bundle`: what a router on another machine serves. */
export interface CertBundleEntry {
  app: string;
  domains: string[];
  certPem: string;
  keyPem: string;
}

/** The answer of `GET /v1/certs/bundle`; `unreadable` names apps whose stored record did not open. */
export interface CertBundle {
  certs: CertBundleEntry[];
  unreadable?: string[];
}
