export { type Addon, cudaPeak, loadAddon, type NvrtcInfo, napiBackends } from "./backends/napi.js";
export type { Backend, DeviceInfo, Unavailable } from "./backends/types.js";
export { type UserWgslKernel, WGSL, WGSL_F16, WGSL_MATMUL_F16, webgpuBackend } from "./backends/webgpu.js";
export {
  CATALOG,
  DEFAULT_SHAPES,
  type Dtype,
  KERNELS,
  type KernelName,
  type KernelShape,
  type KernelSpec,
  type NativeShape,
  rng,
  roundToF16,
  TOLERANCE,
} from "./catalog.js";
export {
  type BenchResult,
  belowResolution,
  benchAB,
  benchKernel,
  type CheckResult,
  checkKernel,
  compareOutput,
  listBackends,
  timerTick,
} from "./check.js";
export {
  buildCatalogEmulator,
  buildUserEmulator,
  type EmulatorBuild,
  emulatedCatalogBackend,
  emulatedUserBackend,
} from "./emulate.js";
export { fromHalfBits, packHalf, toHalfBits } from "./half.js";
export { type FixedReference, loadReference, readArrayFile } from "./reference.js";
export {
  availableMemoryBytes,
  computeHealthCheck,
  type KernelRow,
  MAX_ARRAY_ELEMENTS,
  type RunKernelsOptions,
  runKernels,
  shapeMemory,
} from "./run.js";
export { KernelEntrySchema, type KernelsConfig, KernelsConfigSchema } from "./schema.js";
export {
  type CompileCheck,
  compileCheckCuda,
  compileDispatch,
  loadUserCuda,
  loadUserWgsl,
  shapeVariables,
  type UserCudaKernel,
} from "./user.js";
