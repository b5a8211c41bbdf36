export {
  clampDelay,
  type ExecOptions,
  type ExecResult,
  execBounded,
  MAX_TIMER_MS,
  signalGroup,
  which,
} from "./exec.js";
export { groupAlive, liveGroupMembers } from "./group.js";
