/**
 * Every error Gantry raises on purpose is a GantryError: a stable machine `code`, an HTTP status
 * for the API layer, and optionally the input `field` it is about. One place (the API's error
 * handler, the CLI's main) turns these into answers; anything else is a bug and shows as one.
 */
export class GantryError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;

  constructor(
    code: string,
    message: string,
    opts: { status?: number; field?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.field = opts.field;
  }

  toJSON(): { code: string; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

/** Bad input from a user or a client: names the field when there is one. */
export class ValidationError extends GantryError {
  constructor(message: string, field?: string) {
    super(
      "invalid_argument",
      message,
      field === undefined ? { status: 400 } : { status: 400, field },
    );
  }
}

/**
 * A refusal with an HTTP status of its own (not found, conflict, and the API's auth, routing and
 * body limits), raised by the API and by the services under it.
 */
export class HttpError extends GantryError {
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message, field === undefined ? { status } : { status, field });
  }
}

/** 404 `not_found`: "<what> not found". */
export const notFound = (what: string): HttpError =>
  new HttpError(404, "not_found", `${what} not found`);

/** 409 `conflict`. */
export const conflict = (message: string): HttpError => new HttpError(409, "conflict", message);

/** True for errors Gantry raised on purpose (as opposed to bugs). */
export function isGantryError(err: unknown): err is GantryError {
  return err instanceof GantryError;
}
