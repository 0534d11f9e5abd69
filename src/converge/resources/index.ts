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
import { packageType } from "./package.js";
import { serviceType } from "./service.js";
import { userType } from "./user.js";

/**
 * Every resource type, by the key that names it in a state file (`file: /etc/motd`).
 * Each type lives in its own file in this folder and adds itself here.
 */
export const resourceTypes: ReadonlyMap<string, ResourceType<never>> = new Map<
  string,
  ResourceType<never>
>([
  ["file", fileType as ResourceType<never>],
  ["template", templateType as ResourceType<never>],
  ["directory", directoryType as ResourceType<never>],
  ["symlink", symlinkType as ResourceType<never>],
  ["absent", absentType as ResourceType<never>],
  ["line", lineType as ResourceType<never>],
  ["exec", execType as ResourceType<never>],
  ["git", gitType as ResourceType<never>],
  ["package", packageType as ResourceType<never>],
  ["service", serviceType as ResourceType<never>],
  ["user", userType as ResourceType<never>],
  ["group", groupType as ResourceType<never>],
]);
