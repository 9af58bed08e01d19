export { durationSchema, formatDuration, parseDuration, type Duration } from "./duration.ts";
export { formatIssue, formatPath, type ConfigIssue } from "./issues.ts";
export { configJsonSchema } from "./json-schema.ts";
export { loadConfig, loadConfigFromParameter, loadScheduleSections } from "./load.ts";
export { SecretError, SecretResolver } from "./secrets.ts";
export { parseConfig, parseScheduleSections, readConfigText, type ParseResult } from "./parse.ts";
export type { SecretRef } from "./secret.ts";
export type {
  BusySource,
  Config,
  ConfigInput,
  PeriodConfig,
  Pool,
  RunScheduleConfig,
  ScheduleConfig,
  ScheduleSections,
} from "./schema.ts";
