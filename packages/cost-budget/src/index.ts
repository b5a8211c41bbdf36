export {
  type BudgetPlan,
  CostMeter,
  type CostMeterInput,
  type CostMeterResult,
  costFindings,
  detectGpus,
  formatUsd,
  type GpuAllocation,
  monthOf,
  type PriorSpend,
  planBudget,
  type RunWatchedInput,
  type RunWatchedResult,
  runWatched,
  type StageLimit,
  type WatchedCommand,
} from "./cost.js";
export {
  addRunToPrCost,
  appendLedgerEntry,
  type LedgerEntry,
  LedgerEntrySchema,
  PR_COST_BLOCK,
  type PrCost,
  PrCostSchema,
  parsePrCost,
  readLedger,
  type SpendTotals,
  totalSpend,
} from "./ledger.js";
export { GPU_PRICES, type GpuPrice, globMatch, type ResolvedRate, resolveRate } from "./prices.js";
export {
  BUSY_UTILIZATION,
  CLOCK_QUERY,
  type ClockSample,
  ClockSampler,
  type ClockSummary,
  type GpuSample,
  GpuSampler,
  parseClockCsv,
  parseSampleCsv,
  type SamplerSummary,
  visibleGpuIds,
} from "./sampler.js";
export { type CostConfig, CostConfigSchema } from "./schema.js";
export {
  DEFAULT_COMMAND_LIMIT_MS,
  OutputTail,
  type StopReason,
  type WatchOptions,
  type WatchResult,
  watchCommand,
} from "./watch.js";
