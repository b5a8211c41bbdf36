export {
  clampDelay,
  type ExecOptions,
  type ExecResult,
  execBounded,
  MAX_TIMER_MS,
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
