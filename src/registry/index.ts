/** The registry (issue 12): what the rest of Gantry uses of it. */
export {
  RegistryService,
  type RegistryAuth,
  type RegistryHandle,
  type RegistryServiceOptions,
  type GcResult,
  type PruneResult,
} from "./service.js";
export { REGISTRY_ISSUER, REGISTRY_SERVICE } from "./config.js";
export { grantScopes, repositoryPolicy } from "./scopes.js";
export { deleteAppImages, DEFAULT_KEEP_RELEASES } from "./retention.js";
export type { ImageView } from "./listing.js";
