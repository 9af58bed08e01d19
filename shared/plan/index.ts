export { plan } from "./plan.ts";
export { TICK_MS } from "./context.ts";
export * from "./decision.ts";
export * from "./snapshot.ts";
export {
  TAG,
  LIFECYCLES,
  STOP_CAUSES,
  readTags,
  type HostTags,
  type Lifecycle,
  type StopCause,
} from "./tags.ts";
