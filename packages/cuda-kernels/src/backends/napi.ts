import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { Dtype, KernelName, NativeShape } from "../catalog.js";
import { CATALOG, roundToF16 } from "../catalog.js";
import type { UserCudaKernel } from "../user.js";
import type { Backend, DeviceInfo, Unavailable } from "./types.js";

interface Addon {
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
    };
  };
  run(
    kernel: string,
    device: "cpu" | "cuda",
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    repeats?: number,
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

class NapiBackend implements Backend {
  private scratch?: Float32Array;
  constructor(
    readonly name: "napi-cpu" | "napi-cuda",
    private readonly addon: Addon,
  ) {}

  info(): DeviceInfo {
    const i = this.addon.info();
    if (this.name === "napi-cuda")
      return {
        backend: this.name,
        device: i.cuda.device ?? "CUDA device",
        software: false,
        timing: "CUDA events around each launch",
        details: { driverVersion: i.cuda.driverVersion, computeCapability: i.cuda.computeCapability },
      };
    const peak = cpuPeak(i.cpuThreads);
    return {
      backend: this.name,
      device: `${cpus()[0]?.model.trim() ?? "CPU"} (${i.cpuThreads} threads)`,
      software: true,
      timing:
        "host steady clock around the C++ kernel (CPU: not GPU performance; f16 is emulated as f16 storage with f32 math)",
      ...(peak ? { peakFlops: peak } : {}),
    };
  }

  supports(_kernel: KernelName, dtype: Dtype): string | undefined {
    if (dtype === "f16" && this.name === "napi-cuda") return "the CUDA kernels are f32 only in this version";
    return undefined;
  }

  /**
   * f16 on the CPU is emulated as half-precision storage: the inputs arrive rounded to f16, the
   * math runs in f32 (as f16 GPU kernels accumulate), and the output is rounded to f16.
   */
  async run(
    kernel: KernelName,
    shape: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    dtype: Dtype = "f32",
  ): Promise<number> {
    const ms = this.addon.run(
      CATALOG[kernel].native,
      this.name === "napi-cuda" ? "cuda" : "cpu",
      shape,
      inputs,
      output,
      1,
    );
    if (dtype === "f16") for (let i = 0; i < output.length; i++) output[i] = roundToF16(output[i]!);
    return ms;
  }

  /** A backend running a user's CUDA kernel through this addon (napi-cuda only). */
  withUserCuda(user: UserCudaKernel): Backend {
    return {
      name: `napi-cuda:${user.label}`,
      info: () => ({ ...this.info(), backend: `napi-cuda:${user.label}` }),
      supports: (k, d) =>
        k !== user.kernel
          ? `this user kernel implements ${user.kernel}`
          : d !== "f32"
            ? "user CUDA kernels take f32"
            : undefined,
      run: async (_k, s, inputs, output) =>
        this.addon.runSource(user.source, user.fn, user.grid(s), user.block, s, inputs, output),
    };
  }

  /** Write 64 MiB so the next sample starts with cold caches. */
  flush(): void {
    if (this.name !== "napi-cpu") return;
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
