export { aggregate, type LabelledReport } from "./aggregate.js";
export { GpuciError, ReportInvalidError } from "./errors.js";
export {
  escapeCell,
  escapeInline,
  escapeMarkdown,
  escapeMermaid,
  escapePre,
  headText,
  type MarkdownPlace,
  stripControl,
  tailText,
} from "./escape.js";
export { fromHalfBits, packHalf, roundToF16, toHalfBits } from "./half.js";
export {
  jsonTooDeep,
  MAX_REPORT_BYTES,
  MAX_REPORT_DEPTH,
  makeFolder,
  parseReport,
  readReport,
  writeFileAtomic,
  writeReport,
} from "./io.js";
export {
  type CommentOptions,
  commentMarker,
  GITHUB_COMMENT_LIMIT,
  metricsTable,
  readCommentData,
  readCommentMeta,
  renderComment,
  renderSummary,
} from "./markdown.js";
export {
  formatChangeCell,
  formatRatioChange,
  formatValue,
  type MetricRow,
  type MetricVerdict,
  mermaidTrend,
  metricRows,
  sparkline,
  VERDICTS,
  verdictPhrases,
} from "./metrics.js";
export {
  countFindings,
  countPhrases,
  createReport,
  createSection,
  exitCodeFor,
  type Finding,
  FindingSchema,
  formatDuration,
  isWorse,
  REPORT_SCHEMA,
  type Report,
  type ReportPart,
  ReportSchema,
  type Runner,
  rollUp,
  type Section,
  SectionSchema,
  type Status,
  StatusSchema,
  skippedSection,
  summarizeReport,
} from "./model.js";
export { DataFileError, type NumericArray, parseNpy } from "./npy.js";
export { seededRandom } from "./random.js";
export {
  addSecret,
  createRedactor,
  isAddMaskLine,
  MAX_REDACT_DEPTH,
  noteMasks,
  type RedactOptions,
  Redactor,
  type RedactTextOptions,
  redactArgv,
  redactDeep,
  redactText,
  SECRET_NAME,
  secretForms,
  secretsOf,
  stripUrlCredentials,
} from "./redact.js";
export { renderText, shouldColor, type TextOptions } from "./text.js";
export {
  convert,
  convertible,
  type Dimension,
  type DirectionRule,
  directionOfUnit,
  humanValue,
  incompatible,
  parseQuantity,
  parseUnit,
  type Unit,
  UnitError,
} from "./units.js";
