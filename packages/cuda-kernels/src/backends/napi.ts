import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { Dtype, KernelName, NativeShape } from "../catalog.js";
import { CATALOG, roundToF16 } from "../catalog.js";
import { type UserCudaKernel, userKernelSupports } from "../user.js";
import type { Backend, DeviceInfo, Unavailable } from "./types.js";

/** The addon's NVRTC status: it compiles CUDA sources without a driver or a GPU. */
export interface NvrtcInfo {
  available: boolean;
  reason?: string;
  library?: string;
  version?: string;
}

export interface Addon {
  /** Compile CUDA C++ to PTX with NVRTC (no driver needed); throws with NVRTC's log. */
  compileCuda(source: string, arch: string, name?: string): { ptx: string; log: string };
  /** The CUDA source of the catalog kernels built into the addon (native/kernels.cu). */
  catalogSource(): string;
  /** binary16 bits of each value, rounded to nearest even (the CUDA path's host conversion). */
  toHalfBits(values: Float32Array): Uint16Array;
  runSource(
    source: string,
    fn: string,
    grid: number[],
    block: number[],
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
  ): number;
  info(): {
    cpuThreads: number;
    cuda: {
      available: boolean;
      reason?: string;
      device?: string;
      driverVersion?: number;
      computeCapability?: string;
      multiprocessors?: number;
      clockKHz?: number;
    };
    nvrtc: NvrtcInfo;
  };
  run(
    kernel: string,
    device: "cpu" | "cuda",
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    options?: { repeats?: number; dtype?: Dtype; flushL2?: boolean },
  ): number;
}

/** Where the built addon may be: next to dist/ (the package) or src/ (the tests). */
const CANDIDATES = ["../build/Release/gpuci_kernels.node", "../../build/Release/gpuci_kernels.node"];

let cached: { addon?: Addon; error?: string } | undefined;

/** Load the N-API addon once; undefined with the reason when it is not built. */
export function loadAddon(): { addon?: Addon; error?: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      cached = { addon: require(path) as Addon };
      return cached;
    } catch (error) {
      cached = { error: `the addon at ${path} did not load: ${(error as Error).message}` };
      return cached;
    }
  }
  cached = {
    error:
      "the N-API addon is not built: run `npm run build -w @gpuci/cuda-kernels` (needs g++ and node-gyp)",
  };
  return cached;
}

/** Peak FP32 FLOP/s of this CPU if it can be estimated: cores × 2 FMA units × 8 lanes × 2 × GHz (AVX2). */
function cpuPeak(threads: number): number | undefined {
  const mhz = cpus()[0]?.speed;
  return mhz ? threads * 2 * 8 * 2 * mhz * 1e6 : undefined;
}

/**
 * FLOP per clock per multiprocessor by compute capability. f32: 2 × the FP32 lanes (the CUDA
 * programming guide's throughput table). f16: dense tensor-core FLOP with f32 accumulation, only
 * where one number holds for every product of that capability (A100 312 TFLOP/s = 108 SMs ×
 * 1.41 GHz × 2048; H100 SXM 989 = 132 × 1.83 GHz × 4096); GeForce and data-center parts of the
 * other capabilities differ, so no f16 peak is claimed for them.
 */
const GPU_FLOP_PER_CLOCK: Record<string, Partial<Record<Dtype, number>>> = {
  "7.0": { f32: 128 },
  "7.5": { f32: 128 },
  "8.0": { f32: 128, f16: 2048 },
  "8.6": { f32: 256 },
  "8.7": { f32: 256 },
  "8.9": { f32: 256 },
  "9.0": { f32: 256, f16: 4096 },
};

/** Peak FLOP/s of a CUDA device from its SM count and boost clock, where the per-clock rate is known. */
export function cudaPeak(
  cc?: string,
  sms?: number,
  clockKHz?: number,
): Partial<Record<Dtype, number>> | undefined {
  const perClock = cc ? GPU_FLOP_PER_CLOCK[cc] : undefined;
  if (!perClock || !sms || !clockKHz) return undefined;
  const out: Partial<Record<Dtype, number>> = {};
  for (const [dtype, flop] of Object.entries(perClock)) out[dtype as Dtype] = flop * sms * clockKHz * 1e3;
  return out;
}

class NapiBackend implements Backend {
  private scratch?: Float32Array;
  private coldNext = false;
  constructor(
    readonly name: "napi-cpu" | "napi-cuda",
    private readonly addon: Addon,
  ) {}

  info(): DeviceInfo {
    const i = this.addon.info();
    if (this.name === "napi-cuda") {
      const peak = cudaPeak(i.cuda.computeCapability, i.cuda.multiprocessors, i.cuda.clockKHz);
      return {
        backend: this.name,
        device: i.cuda.device ?? "CUDA device",
        software: false,
        timing: "CUDA events around each launch, L2 flushed (256 MiB written) before each sample",
        ...(peak ? { peakFlops: peak } : {}),
        details: {
          driverVersion: i.cuda.driverVersion,
          computeCapability: i.cuda.computeCapability,
          multiprocessors: i.cuda.multiprocessors,
          nvrtc: i.nvrtc.version,
        },
      };
    }
    const peak = cpuPeak(i.cpuThreads);
    return {
      backend: this.name,
      device: `${cpus()[0]?.model.trim() ?? "CPU"} (${i.cpuThreads} threads)`,
      software: true,
      timing:
        "host steady clock around the C++ kernel (CPU: not GPU performance; f16 is emulated as f16 storage with f32 math)",
      ...(peak ? { peakFlops: { f32: peak, f16: peak } } : {}),
    };
  }

  supports(_kernel: KernelName, _dtype: Dtype): string | undefined {
    return undefined;
  }

  /**
   * f16 on the CPU is emulated as half-precision storage: the inputs arrive rounded to f16, the
   * math runs in f32 (as f16 GPU kernels accumulate), and the output is rounded to f16. On CUDA
   * the f16 kernels read and write binary16 buffers (matmul on tensor cores).
   */
  async run(
    kernel: KernelName,
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    dtype: Dtype = "f32",
  ): Promise<number> {
    const cuda = this.name === "napi-cuda";
    const ms = this.addon.run(CATALOG[kernel].native, cuda ? "cuda" : "cpu", shape, inputs, output, {
      dtype,
      flushL2: cuda && this.coldNext,
    });
    this.coldNext = false;
    if (dtype === "f16" && !cuda) for (let i = 0; i < output.length; i++) output[i] = roundToF16(output[i]!);
    return ms;
  }

  /** A backend running a user's CUDA kernel through this addon (napi-cuda only). */
  withUserCuda(user: UserCudaKernel): Backend {
    return {
      name: `napi-cuda:${user.label}`,
      info: () => ({ ...this.info(), backend: `napi-cuda:${user.label}` }),
      supports: userKernelSupports(user.kernel, "CUDA"),
      run: async (_k, s, inputs, output) =>
        this.addon.runSource(user.source, user.fn, user.grid(s), user.block, s, inputs, output),
    };
  }

  /** Start the next sample with cold caches: CPU: write 64 MiB now; CUDA: the addon writes 256 MiB on the device before the launch. */
  flush(): void {
    if (this.name === "napi-cuda") {
      this.coldNext = true;
      return;
    }
    this.scratch ??= new Float32Array(16 * 1024 * 1024);
    this.scratch.fill(Math.random());
  }
}

/** The napi backends: napi-cpu always (when the addon is built), napi-cuda where a driver exists. */
export function napiBackends(): { backends: Backend[]; unavailable: Unavailable[] } {
  const { addon, error } = loadAddon();
  if (!addon)
    return {
      backends: [],
      unavailable: [
        { name: "napi-cpu", reason: error! },
        { name: "napi-cuda", reason: error! },
      ],
    };
  const cuda = addon.info().cuda;
  return {
    backends: [
      new NapiBackend("napi-cpu", addon),
      ...(cuda.available ? [new NapiBackend("napi-cuda", addon)] : []),
    ],
    unavailable: cuda.available ? [] : [{ name: "napi-cuda", reason: cuda.reason ?? "CUDA unavailable" }],
  };
}
