import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "./backends/types.js";
import { CATALOG } from "./catalog.js";
import { type UserCudaKernel, userKernelSupports } from "./user.js";

/**
 * The CUDA emulator (native/emu/cuda_emu.h) runs CUDA kernels on the CPU: each thread block's
 * threads as coroutines with real barriers, warp shuffles and mma.sync. It proves what a kernel
 * computes, not how fast or whether it races; gpuci labels its rows so and never times them.
 * Building needs g++; binaries are cached by content under the system's temp folder.
 */
const NATIVE = fileURLToPath(new URL("../native/", import.meta.url));
const EMU_TIMEOUT_MS = 120_000;

/** A built emulator binary, or why there is none. */
export type EmulatorBuild = { bin: string; error?: undefined } | { bin?: undefined; error: string };

function gxx(args: string[], out: string): string | undefined {
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync("g++", [...args, "-o", tmp], { encoding: "utf8" });
  if (r.error) return `g++ is needed to emulate CUDA kernels on the CPU (${r.error.message})`;
  if (r.status !== 0) {
    const first = r.stderr.split("\n").find((l) => /error/.test(l)) ?? r.stderr.trim().split("\n")[0];
    return first?.trim() ?? `g++ exited with ${r.status}`;
  }
  renameSync(tmp, out); // atomic: a concurrent build of the same key never sees half a binary
  return undefined;
}

function cached(key: string[], name: string, build: (out: string) => string | undefined): EmulatorBuild {
  const hash = createHash("sha256");
  for (const part of key) hash.update(part).update("\0");
  const dir = process.env.GPUCI_EMU_CACHE ?? join(tmpdir(), `gpuci-cuda-emu-${process.getuid?.() ?? "user"}`);
  const out = join(dir, `${name}-${hash.digest("hex").slice(0, 16)}`);
  try {
    mkdirSync(dir, { recursive: true });
    if (existsSync(out)) return { bin: out };
    const error = build(out);
    return error ? { error } : { bin: out };
  } catch (error) {
    return {
      error: `could not build in ${dir} (${(error as Error).message}); set GPUCI_EMU_CACHE to a writable folder`,
    };
  }
}

const headers = () => readFileSync(join(NATIVE, "emu/cuda_emu.h"), "utf8");

/**
 * Build the emulator for gpuci's own catalog kernels (native/kernels.cu launched as the CUDA path
 * launches them), for the mma shapes of `arch` (80: m16n8k16; 75: m16n8k8). `sourceDir` replaces
 * native/ (the tests build a deliberately broken copy).
 */
export function buildCatalogEmulator(arch: 75 | 80, sourceDir = NATIVE): EmulatorBuild {
  const files = ["kernels.cu", "launch.h", "kernels.h", "cuda.cc", "emu/cuda_emu.h", "emu/emu_main.cc"];
  const key = [String(arch), ...files.map((f) => readFileSync(join(sourceDir, f), "utf8"))];
  return cached(key, `catalog-sm${arch}`, (out) =>
    gxx(
      [
        "-std=c++17",
        "-O2",
        "-Wno-unknown-pragmas",
        `-DGPUCI_EMU_ARCH=${arch}`,
        "-I",
        sourceDir,
        join(sourceDir, "emu/emu_main.cc"),
        join(sourceDir, "cuda.cc"),
        "-ldl",
      ],
      out,
    ),
  );
}

/** Build the emulator for a user's CUDA kernel (gpuci's CUDA contract). */
export function buildUserEmulator(user: UserCudaKernel): EmulatorBuild {
  if (!/^[A-Za-z_]\w*$/.test(user.fn)) return { error: `"${user.fn}" is not a C identifier` };
  const unit = { m: 1, n: 1, k: 1, b: 1, h: 1, s: 1, d: 1, causal: false, eps: 1e-5 };
  const nInputs = CATALOG[user.kernel].inputs(unit, () => 0.5, "f32").length;
  const arch = Number(/^compute_(\d+)/.exec(user.arch)?.[1] ?? 75);
  return cached(
    [
      user.source,
      user.fn,
      String(nInputs),
      String(arch),
      headers(),
      readFileSync(join(NATIVE, "emu/user_main.cc"), "utf8"),
    ],
    "user",
    (out) => {
      const src = `${out}.cu`;
      writeFileSync(src, user.source);
      return gxx(
        [
          "-std=c++17",
          "-O2",
          "-w",
          "-x",
          "c++",
          `-D__CUDA_ARCH__=${arch * 10}`,
          `-DGPUCI_USER_SOURCE="${src}"`,
          `-DGPUCI_USER_FN=${user.fn}`,
          `-DGPUCI_USER_INPUTS=${nInputs}`,
          "-I",
          join(NATIVE, "emu"),
          join(NATIVE, "emu/user_main.cc"),
        ],
        out,
      );
    },
  );
}

function runEmulator(
  label: string,
  bin: string,
  args: Array<string | number>,
  inputs: Float32Array[],
  output: Float32Array,
) {
  const input = Buffer.concat(
    [...inputs, output].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
  );
  const r = spawnSync(bin, args.map(String), { input, maxBuffer: 1 << 30, timeout: EMU_TIMEOUT_MS });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT")
    throw new Error(
      `${label}: the CUDA emulator took longer than ${EMU_TIMEOUT_MS / 1000} s; check smaller shapes`,
    );
  if (r.status !== 0)
    throw new Error(`${label}: ${r.stderr.toString().trim() || `the CUDA emulator exited with ${r.status}`}`);
  if (r.stdout.length !== output.byteLength)
    throw new Error(
      `${label}: the CUDA emulator wrote ${r.stdout.length} bytes, expected ${output.byteLength}`,
    );
  output.set(new Float32Array(Uint8Array.from(r.stdout).buffer));
}

/** A backend running gpuci's catalog kernels in the emulator (f32 and f16). */
export function emulatedCatalogBackend(bin: string, label: string): Backend {
  return {
    name: label,
    info: () => ({ backend: label, device: "the CPU (CUDA emulator)", software: true, timing: "not timed" }),
    supports: () => undefined,
    untimed: "emulated on the CPU: correctness only",
    async run(kernel, s, inputs, output, dtype) {
      const args = [
        CATALOG[kernel].native,
        dtype,
        s.m,
        s.n,
        s.k,
        s.b,
        s.h,
        s.s,
        s.d,
        s.causal ? 1 : 0,
        s.eps,
      ];
      runEmulator(label, bin, args, inputs, output);
      return 0;
    },
  };
}

/** A backend running a user's CUDA kernel in the emulator (f32, as on napi-cuda). */
export function emulatedUserBackend(bin: string, user: UserCudaKernel, untimed: string): Backend {
  const name = `cuda-emu:${user.label}`;
  return {
    name,
    info: () => ({ backend: name, device: "the CPU (CUDA emulator)", software: true, timing: "not timed" }),
    supports: userKernelSupports(user.kernel, "CUDA"),
    untimed,
    async run(_k, s, inputs, output) {
      const [gx, gy, gz] = user.grid(s);
      const [bx, by, bz] = user.block;
      const args = [gx, gy, gz, bx, by, bz, s.m, s.n, s.k, s.b, s.h, s.s, s.d, s.causal ? 1 : 0, s.eps];
      runEmulator(name, bin, [...args, ...inputs.map((a) => a.length), output.length], inputs, output);
      return 0;
    },
  };
}
