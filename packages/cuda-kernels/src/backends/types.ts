import type { Dtype, KernelName, NativeShape } from "../catalog.js";

/** Where a kernel ran and how its time was taken. */
export interface DeviceInfo {
  backend: string;
  device: string;
  /** A software GPU (llvmpipe, lavapipe, SwiftShader) or the CPU: timings are not GPU performance. */
  software: boolean;
  /** How timings are measured, in words. */
  timing: string;
  /** Known peak FLOP/s of the device by dtype, for the fraction of peak (absent where unknown). */
  peakFlops?: Partial<Record<Dtype, number>>;
  details?: Record<string, unknown>;
}

/** One backend (webgpu, napi-cpu, napi-cuda). */
export interface Backend {
  readonly name: string;
  info(): DeviceInfo;
  supports(kernel: KernelName, dtype: Dtype): string | undefined;
  /**
   * Run one kernel once: `output` arrives poisoned with NaN and must be fully written.
   * Returns the kernel's time in ms as this backend measures it.
   */
  run(
    kernel: KernelName,
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    dtype: Dtype,
  ): Promise<number>;
  /** Set when this backend's times mean nothing (an emulator): why its rows are not timed. */
  untimed?: string;
  /** Evict caches between timing samples, where the backend allows. */
  flush?(): void;
  dispose?(): void;
}

/** A backend that could not be started, and why. */
export interface Unavailable {
  name: string;
  reason: string;
}
