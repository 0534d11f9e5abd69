import { createContext, useContext } from "react";
import {
  granted,
  isAdmin,
  type Access,
  type PolicyShape,
  type Resource,
} from "../../src/model/policy-match.js";

export interface Session {
  name: string;
  tokenId: string;
  policies: PolicyShape[];
  csrf: string;
  expiresAt?: string;
}

export const SessionContext = createContext<Session | undefined>(undefined);

/** The logged-in token (the app shell renders pages only once it is known). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === undefined) throw new Error("useSession outside the logged-in shell");
  return s;
}

/** Whether the session's token may do this; the same rule the API applies (policy-match.ts). */
export function useCan(): (resource: Resource | "admin", name: string, access: Access) => boolean {
  const s = useSession();
  return (resource, name, access) =>
    resource === "admin" ? isAdmin(s.policies) : granted(s.policies, resource, access, name);
}
