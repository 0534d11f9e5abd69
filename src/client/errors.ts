import { GantryError } from "../errors.js";

/** An error answer from the API, with the server's stable code and the field it is about. */
export class ApiError extends GantryError {
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message, field === undefined ? { status } : { status, field });
  }
}

/** The server could not be reached at all. */
export class ConnectError extends GantryError {
  constructor(addr: string, cause?: unknown) {
    super("unreachable", `cannot reach Gantry at ${addr} — is "gantry up" running?`, {
      status: 503,
      cause,
    });
  }
}
