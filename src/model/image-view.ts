/** One image in Gantry's registry as `GET /v1/images` and `gantry images` show it. */
export interface ImageView {
  repository: string;
  digest: string;
  tags: string[];
  /** Sum of the layer sizes from the manifest (compressed, as stored), in bytes. */
  size: number;
  /** When the image was made (from its config). */
  created?: string;
  /** The app whose repository it is, when it is an app's. */
  app?: string;
  /** Made by Gantry (labelled gantry.app): retention may delete it. */
  gantry: boolean;
  /** The releases of the app that run it (versions, newest first). */
  releases: number[];
}

/** `GET /v1/registry`: where Gantry's registry is and whether it answers. */
export interface RegistryInfo {
  address: string | null;
  running: boolean;
}
