export {
  clampDelay,
  type ExecOptions,
  type ExecResult,
  execBounded,
  MAX_TIMER_MS,
  missingWhat,
  signalGroup,
  which,
} from "./exec.js";
export {
  findMarkedProcesses,
  groupAlive,
  liveGroupMembers,
  type MarkedProcess,
  signalMarked,
  WATCH_MARKER_VAR,
} from "./group.js";
export {
  type CancelHandlerOptions,
  type CancelOutcome,
  type CancelSignal,
  cancelExitCode,
  cancellation,
  cancelled,
  cancelOwned,
  escalateCancel,
  installCancelHandler,
  onCancel,
  ownedGroups,
  registerCleanup,
  registerGroup,
  SIGNAL_EXIT_CODES,
} from "./owned.js";
