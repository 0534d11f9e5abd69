import { K } from "../model/keys.js";

/** Store keys of scheduled jobs (layout in src/model/cron.ts). */
export const cronJobsPrefix = (app: string): string => `${K.cronJobs}${app}/`;
export const cronJobKey = (app: string, id: string): string => `${K.cronJobs}${app}/${id}`;
export const cronRunsPrefix = (app: string, id?: string): string =>
  id === undefined ? `${K.cronRuns}${app}/` : `${K.cronRuns}${app}/${id}/`;
export const cronRunKey = (app: string, id: string, tick: string): string =>
  `${K.cronRuns}${app}/${id}/${tick}`;
