export {
  type ChangePoint,
  type ChangePointOptions,
  changePoints,
  coefficientOfVariation,
  roundsNeeded,
} from "./changepoint.js";
export {
  type EvaluateOptions,
  type EvaluateResult,
  evaluateGates,
  formatChange,
  type GateOutcome,
  orderGates,
  parseFraction,
  type RegressionVerdict,
  verdictText,
} from "./evaluate.js";
export {
  baseSeries,
  type ChosenBaseline,
  chooseBaseline,
  compactEntry,
  fileStore,
  gitBranchStore,
  gitContext,
  type HistoryConfig,
  HistoryConfigSchema,
  type HistoryEntry,
  HistoryEntrySchema,
  type HistoryStore,
  openHistory,
  type Retention,
  type RunContext,
  SHARD_RUNS,
} from "./history.js";
export { getPath, inferFormat, MetricError, type MetricValue, parseLooseJson, readMetric } from "./metric.js";
export { compareArrays, type NumericArray, type ParityResult, parseNpy, readNumericArray } from "./parity.js";
export {
  AlphaSchema,
  findCycle,
  type Gate,
  GateSchema,
  GatesConfigSchema,
  JUNIT_FIELDS,
  MarginSchema,
  METRIC_FORMATS,
  type Metric,
  MetricBaseSchema,
  MetricSchema,
  STATS,
} from "./schema.js";
export {
  bootstrapMedianRatio,
  type MannWhitney,
  mannWhitneyGreater,
  mean,
  median,
  normalCdf,
  quantile,
  quantileSorted,
  seededRandom,
  sorted,
  stddev,
} from "./stats.js";
export { type Extracted, extractCsv, extractJsonl, splitCsvLine, type Where } from "./stream.js";
export {
  ar1Inflation,
  formatPercent,
  lag1Autocorrelation,
  normalQuantile,
  regressionVerdict,
  sequentialLooks,
  seriesVerdict,
  tQuantile,
  type Verdict,
  type VerdictOptions,
  type VerdictOutcome,
} from "./verdict.js";
