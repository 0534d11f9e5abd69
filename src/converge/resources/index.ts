import type { ResourceType } from "../types.js";
import { absentType } from "./absent.js";
import { directoryType } from "./directory.js";
import { fileType } from "./file.js";
import { lineType } from "./line.js";
import { symlinkType } from "./symlink.js";
import { templateType } from "./template.js";
import { execType } from "./exec.js";
import { gitType } from "./git.js";
import { groupType } from "./group.js";
import { packageIndexType } from "./package-index.js";
import { packageType } from "./package.js";
import { serviceType } from "./service.js";
import { userType } from "./user.js";

/**
 * Every resource type, by the key that names it in a state file (`file: /etc/motd`).
 * Each type lives in its own file in this folder and adds itself here.
 */
export const resourceTypes: ReadonlyMap<string, ResourceType<never>> = new Map(
  (
    [
      fileType,
      templateType,
      directoryType,
      symlinkType,
      absentType,
      lineType,
      execType,
      gitType,
      packageType,
      packageIndexType,
      serviceType,
      userType,
      groupType,
    ] as ResourceType<never>[]
  ).map((t) => [t.type, t]),
);
