export { type ExecOptions, type ExecResult, execBounded, signalGroup, which } from "./exec.js";
