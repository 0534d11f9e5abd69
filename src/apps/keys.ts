import { K } from "../model/keys.js";

/** Store keys of the PaaS records (layout in src/model/app.ts). */
export const appKey = (app: string): string => `${K.apps}${app}`;
export const configKey = (app: string): string => `${K.config}${app}`;
export const testConfigKey = (app: string): string => `${K.testConfig}${app}`;
export const deployKey = (app: string): string => `${K.deploys}${app}`;
export const scaleKey = (app: string): string => `${K.scales}${app}`;
export const releasesPrefix = (app: string): string => `${K.releases}${app}/`;
export const buildsPrefix = (app: string): string => `${K.builds}${app}/`;
export const assignmentKey = (node: string, id: string): string => `${K.assignments}${node}/${id}`;
export const instanceKey = (id: string): string => `${K.instances}${id}`;
/**
 * Instance ids start with `<app>-` (see assignmentId), so this prefix holds every instance of
 * the app — and those of apps whose names extend it (`hello-world` for `hello`): filter by `app`.
 */
export const instancesPrefixOf = (app: string): string => `${K.instances}${app}-`;
/**
 * The deploy controller's step counter of an app: every transition it applies compares and bumps
 * it, so two controllers that planned from the same state never both apply (new assignment keys
 * are fresh, so their own compares could not tell).
 */
export const deployStepKey = (app: string): string => `sys/deploy-step/${app}`;
