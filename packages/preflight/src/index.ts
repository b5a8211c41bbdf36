export { checkCudaToolkit, fixCudaPath, MIN_DRIVER_FOR_CUDA, parseNvccVersion } from "./checks/cuda.js";
export { compareVersions, gpuFindings, queryNvidiaSmi, readKernelModuleVersion } from "./checks/gpu.js";
export { TORCH_PROBE } from "./checks/python.js";
export {
  CSV_QUERY_FIELDS,
  diagnoseSmiFailure,
  type GpuInfo,
  type GpuInventory,
  type GpuProcess,
  parseNvidiaSmiCsv,
  parseNvidiaSmiXml,
  SmiParseError,
} from "./nvidia-smi.js";
export { type PreflightOptions, type PreflightResult, runPreflight } from "./preflight.js";
export { type PreflightConfig, type PreflightConfigInput, PreflightConfigSchema } from "./schema.js";
