import type { ImageView, RegistryInfo } from "../model/image-view.js";
import type { GantryClient } from "./client.js";

/** Gantry's image registry through the API: where it is, and its images. */
export class RegistryClient {
  constructor(readonly client: GantryClient) {}

  /** The registry's address and whether it runs. */
  info(): Promise<RegistryInfo> {
    return this.client.json("GET", "/v1/registry");
  }

  /** The images (of one app, or every one this token may read). */
  images(app?: string): Promise<ImageView[]> {
    return this.client.json("GET", "/v1/images", { query: { app } });
  }

  /** Apply retention now, then garbage-collect (admin). */
  prune(gc: "auto" | "always" = "auto"): Promise<{
    deleted: { app: string; digests: string[] }[];
    gc: { ran: boolean; reason?: string; ms: number };
  }> {
    return this.client.json("POST", "/v1/registry/prune", { query: { gc } });
  }
}
