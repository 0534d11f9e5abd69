import * as z from "zod";

// The value types app records are made of: names, image references, runtimes (src/model/app.ts).

/** App names are DNS labels: they become host names (`<app>.<domain>`). */
export const AppNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,28}[a-z0-9]$|^[a-z]$/,
    "must be a DNS label: lower-case letters, digits and inner dashes, starting with a letter, at most 30 characters",
  );

/** Process types as in a Procfile: `web`, `worker`, `release`… */
export const ProcessTypeSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,29}$/,
    "must be lower-case letters, digits, _ and -, starting with a letter",
  );

/** Config variable names, as environment variables. */
export const ConfigNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be a valid environment variable name");

/** A host name for `domains:add`. */
export const DomainSchema = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be a lower-case host name like www.example.com",
  );

/**
 * An image pinned by digest (issue 12): `registry/name@sha256:<64 hex>`. A release keeps one, so
 * a tag that moves later never changes what a release runs.
 */
export const ImageRefSchema = z
  .string()
  .max(512)
  .regex(
    /^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$/,
    "must be an image pinned by digest, like 127.0.0.1:5000/hello@sha256:<64 hex digits>",
  );

/** A slug's content hash: sha256 of its .tar.gz (hex). */
export const ArtifactHashSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** How an app's instances run: a supervised process group (default) or a Docker container. */
export const RuntimeSchema = z.enum(["process", "docker"]);
export type Runtime = z.infer<typeof RuntimeSchema>;

/** Limits and options for an app's containers (runtime docker); absent fields use defaults. */
export const ContainerOptionsSchema = z.strictObject({
  /** Memory limit per instance, MiB (default 512). */
  memoryMb: z.number().int().min(16).max(1_048_576).optional(),
  /** Process limit per instance (default 512). */
  pids: z.number().int().min(8).max(1_000_000).optional(),
  /** Read-only root filesystem (a writable /tmp is mounted). */
  readOnly: z.boolean().optional(),
});
export type ContainerOptions = z.infer<typeof ContainerOptionsSchema>;

/** An HSTS max-age in seconds (0: none); at most two years, as browsers' preload lists take. */
export const HstsSecondsSchema = z.number().int().min(0).max(63_072_000);

/** `hsts=true` gives one year (what browsers' preload lists ask for). */
export const HSTS_DEFAULT_SECONDS = 31_536_000;
