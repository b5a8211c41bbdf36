export { cancelExitCode, installCancelHandler } from "@gpuci/process";
export { type LoadedConfig, loadConfig, validateYaml } from "./config/load.js";
export { RunCommandSchema, RunSectionSchema } from "./config/run-schema.js";
export { type Config, ConfigSchema } from "./config/schema.js";
export { type RunOptions, type RunResult, runGpuci } from "./engine.js";
export { ConfigInvalidError, ConfigNotFoundError, UsageError } from "./errors.js";
export { lineProgress, type ProgressEvent, type ProgressSink } from "./progress.js";
export { VERSION } from "./version.js";
