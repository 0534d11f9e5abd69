import { GantryError } from "../errors.js";

/**
 * Why a bake did not produce an image. Codes: `bake_image_missing`, `bake_no_node`,
 * `bake_low_disk`, `bake_failed` (a resource failed), `bake_runner_failed` (the run could not
 * start or ended oddly), `bake_push_failed`, `bake_container_conflict`.
 */
export class BakeError extends GantryError {
  constructor(code: string, message: string, status = 500) {
    super(code, message, { status });
  }
}
