import { GantryError } from "../errors.js";

/** An HTTP-level refusal (auth, routing, body limits) with a stable code. */
export class HttpError extends GantryError {
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message, field === undefined ? { status } : { status, field });
  }
}

export const unauthorized = (
  message = "a valid token is required (Authorization: Bearer …)",
): HttpError => new HttpError(401, "unauthorized", message);

export const forbidden = (what: string): HttpError =>
  new HttpError(403, "forbidden", `this token may not ${what}`);

export const notFound = (what: string): HttpError =>
  new HttpError(404, "not_found", `${what} not found`);

export const conflict = (message: string): HttpError => new HttpError(409, "conflict", message);

/** The JSON body and status for any error; unknown errors become a bare 500 (details are logged). */
export function errorBody(err: unknown): {
  status: number;
  body: { error: { code: string; message: string; field?: string } };
} {
  if (err instanceof GantryError) return { status: err.status, body: { error: err.toJSON() } };
  return { status: 500, body: { error: { code: "internal", message: "internal server error" } } };
}
