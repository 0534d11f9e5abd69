import type { IncomingMessage } from "node:http";
import type { Principal } from "../model/principal.js";
import { unauthorized } from "./errors.js";
import type { TokenRegistry } from "./tokens.js";

/**
 * The caller of a request, from `Authorization: Bearer <secret>` (or Basic auth with the secret
 * as password, which is what git sends for pushes). 401 when missing or unknown.
 */
export function authenticate(req: IncomingMessage, tokens: TokenRegistry): Principal {
  const header = req.headers.authorization;
  let secret: string | undefined;
  if (header?.startsWith("Bearer ")) secret = header.slice(7).trim();
  else if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    secret = decoded.slice(decoded.indexOf(":") + 1);
  }
  if (secret === undefined || secret === "") throw unauthorized();
  const rec = tokens.authenticate(secret);
  if (rec === undefined) throw unauthorized("the token is not valid (unknown or revoked)");
  return { tokenId: rec.id, name: rec.name, policies: rec.policies };
}
