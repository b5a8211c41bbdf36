export { type ExecOptions, type ExecResult, execBounded, signalGroup, which } from "./exec.js";
export { groupAlive, liveGroupMembers } from "./group.js";
