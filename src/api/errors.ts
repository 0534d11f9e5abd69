import { GantryError, HttpError } from "../errors.js";

/** 401 `unauthorized`: no token, or one that is unknown or revoked. */
export const unauthorized = (
  message = "a valid token is required (Authorization: Bearer …)",
): HttpError => new HttpError(401, "unauthorized", message);

/** 403 `forbidden`: "this token may not <what>". */
export const forbidden = (what: string): HttpError =>
  new HttpError(403, "forbidden", `this token may not ${what}`);

/** The JSON body and status for any error; unknown errors become a bare 500 (details are logged). */
export function errorBody(err: unknown): {
  status: number;
  body: { error: { code: string; message: string; field?: string } };
} {
  if (err instanceof GantryError) return { status: err.status, body: { error: err.toJSON() } };
  return { status: 500, body: { error: { code: "internal", message: "internal server error" } } };
}
