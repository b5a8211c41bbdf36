export { type ClockMode, type ClockSpace, clockSpace } from "./clocks.js";
export { type AbMetricResult, type RunAbOptions, type RunAbResult, runAb } from "./run.js";
export { type AbConfig, AbConfigSchema, type AbMetric, AbMetricSchema } from "./schema.js";
export {
  AbSetupError,
  addWorktree,
  type BaseWorktree,
  type ResolvedBase,
  repositoryOf,
  resolveBase,
} from "./worktree.js";
