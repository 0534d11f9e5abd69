import type { Policy } from "./token.js";

/** Who is calling: the token's id, name and policies. */
export interface Principal {
  tokenId: string;
  name: string;
  policies: Policy[];
}
