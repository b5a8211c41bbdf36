// The CUDA path on a machine without a GPU: what can be proven here is that every catalog kernel
// compiles with the real NVRTC for each architecture gpuci supports, that ptxas assembles it
// without register spills, that the host's binary16 conversion is right, and that users' CUDA
// sources are compile-checked. CI installs NVRTC (.ci/install-nvrtc) and has ptxas (nvcc 13), so
// these tests never skip there; on a developer machine without them they skip with the reason.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Backend,
  buildCatalogEmulator,
  buildUserEmulator,
  checkKernel,
  cudaPeak,
  emulatedCatalogBackend,
  KERNELS,
  type KernelName,
  type KernelShape,
  loadAddon,
  napiBackends,
  runKernels,
  toHalfBits,
} from "./index.js";

const ARCHES = ["75", "80", "86", "89", "90"];
const ENTRIES = [
  "vector_add_f32",
  "vector_add_f16",
  "matmul_f32",
  "matmul_f16",
  "softmax_f32",
  "softmax_f16",
  "layernorm_f32",
  "layernorm_f16",
  ...["f32", "f16"].flatMap((t) => [32, 64, 128].map((d) => `attention_${t}_d${d}`)),
];

/** The addon with NVRTC, or the reason there is none (a failure under CI). */
function nvrtc(skip: (reason: string) => void) {
  const { addon, error } = loadAddon();
  const info = addon?.info().nvrtc;
  if (addon && info?.available) return addon;
  const reason = error ?? info?.reason ?? "NVRTC unavailable";
  if (process.env.CI) throw new Error(`CI must have NVRTC (bash .ci/install-nvrtc): ${reason}`);
  skip(reason);
  return undefined;
}

function ptxas(): string | undefined {
  // PATH, the toolkit, or the nvidia-cuda-nvcc wheel .ci/install-nvrtc unpacks into .nvrtc/.
  const wheel = fileURLToPath(new URL("../../../.nvrtc/nvidia/", import.meta.url));
  const wheelBins = existsSync(wheel) ? readdirSync(wheel).map((cu) => join(wheel, cu, "bin")) : [];
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/local/cuda/bin", ...wheelBins])
    if (dir && existsSync(join(dir, "ptxas"))) return join(dir, "ptxas");
  if (process.env.CI) throw new Error("CI must have ptxas (nvcc's assembler) on PATH");
  return undefined;
}

describe("the catalog's CUDA source", () => {
  it("is the native/kernels.cu the addon embeds", async (ctx) => {
    const addon = nvrtc((r) => ctx.skip(r));
    if (!addon) return;
    const file = await readFile(new URL("../native/kernels.cu", import.meta.url), "utf8");
    expect(addon.catalogSource()).toBe(file);
  });

  it("compiles with NVRTC for sm_75 to sm_90 and ptxas assembles every kernel without spills", async (ctx) => {
    const addon = nvrtc((r) => ctx.skip(r));
    if (!addon) return;
    const assembler = ptxas();
    const dir = await mkdtemp(join(tmpdir(), "gpuci-ptx-"));
    for (const arch of ARCHES) {
      const { ptx } = addon.compileCuda(addon.catalogSource(), `compute_${arch}`, "gpuci_kernels.cu");
      for (const entry of ENTRIES) expect(ptx, `${entry} for compute_${arch}`).toMatch(`.entry ${entry}(`);
      if (!assembler) continue;
      const file = join(dir, `k${arch}.ptx`);
      await writeFile(file, ptx);
      const r = spawnSync(assembler, [`-arch=sm_${arch}`, "-v", file, "-o", join(dir, `k${arch}.cubin`)], {
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      // "Function properties for X" then "N bytes stack frame, N bytes spill stores, ...".
      const report = [
        ...r.stderr.matchAll(
          /Function properties for (\w+)\n\s*(\d+) bytes stack frame, (\d+) bytes spill stores/g,
        ),
      ];
      expect(report.map((m) => m[1]).sort()).toEqual([...ENTRIES].sort());
      for (const [, name, stack, spills] of report)
        expect({ name, arch, stack: Number(stack), spills: Number(spills) }).toEqual({
          name,
          arch,
          stack: 0,
          spills: 0,
        });
    }
  });

  it("a source that does not compile throws with NVRTC's log, file and line", (ctx) => {
    const addon = nvrtc((r) => ctx.skip(r));
    if (!addon) return;
    expect(() =>
      addon.compileCuda('extern "C" __global__ void k(float* x) { x[0] = ; }', "compute_80", "broken.cu"),
    ).toThrow(
      /NVRTC could not compile broken\.cu for compute_80:[\s\S]*broken\.cu\(1\): error: expected an expression/,
    );
  });
});

describe("the CUDA f16 path's host conversion", () => {
  it("rounds like IEEE binary16 (nearest even) for every kind of value", () => {
    const { addon } = loadAddon();
    expect(addon, "the addon is built in CI").toBeDefined();
    const values: number[] = [
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      65504,
      65519.99,
      65520,
      1e-8,
      2 ** -25,
      2 ** -24,
    ];
    // Every binary16 value, and the midpoint above each (ties go to even), and just off it.
    for (let h = 0; h < 0x7c00; h++) {
      const lo = new Float32Array([0]);
      const v = fromBits(h);
      const next = fromBits(h + 1);
      lo[0] = (v + next) / 2;
      values.push(v, -v, lo[0]!, Math.fround(lo[0]! * (1 + 2 ** -20)), Math.fround(lo[0]! * (1 - 2 ** -20)));
    }
    const input = Float32Array.from(values);
    const got = addon!.toHalfBits(input);
    const want = Array.from(input, (x) => toHalfBits(x));
    const bad = want.findIndex((w, i) => w !== got[i]);
    expect(bad === -1 ? "all equal" : `${input[bad]}: addon ${got[bad]}, expected ${want[bad]}`).toBe(
      "all equal",
    );
  });
});

function fromBits(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
}

describe("users' CUDA sources without a GPU", () => {
  const entry = (file: string, fn = "my_add") => ({
    kernel: "vector-add",
    shapes: [{ n: 1000 }],
    source: { cuda: file, function: fn, grid: ["ceil(n/256)", 1, 1], block: [256, 1, 1], arch: "compute_80" },
  });
  const good =
    'extern "C" __global__ void my_add(const float* a, const float* b, float* c, int m, int n, int k, int bb, int h, int s, int d, int causal, float eps) {\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < m) c[i] = a[i] + b[i];\n}\n';

  it("are compiled by NVRTC and run in the CUDA emulator: right passes, wrong and broken fail", async (ctx) => {
    if (napiBackends().backends.some((b) => b.name === "napi-cuda"))
      ctx.skip("a machine with a GPU runs them");
    if (!nvrtc((r) => ctx.skip(r))) return;
    const dir = await mkdtemp(join(tmpdir(), "gpuci-user-cu-"));
    await writeFile(join(dir, "good.cu"), good);
    await writeFile(join(dir, "bad.cu"), good.replace("a[i] + b[i]", "a[i] + b[i"));
    await writeFile(join(dir, "mangled.cu"), good.replace('extern "C" ', ""));
    await writeFile(join(dir, "wrong.cu"), good.replace("if (i < m)", "if (i < m - 1)"));
    const off = entry("good.cu");
    const { section } = await runKernels(
      [
        entry("good.cu"),
        entry("bad.cu"),
        entry("mangled.cu"),
        entry("wrong.cu"),
        { ...off, source: { ...off.source, emulate: false } },
      ],
      { baseDir: dir },
    );
    const [ok, bad, mangled, wrong, notRun] = section.findings;
    expect(ok).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(
        /^correct under the CUDA emulator over 5 trials .*; compiles with NVRTC \d+\.\d+ for compute_80; not timed: napi-cuda unavailable/,
      ),
      data: { backend: "cuda-emu:good.cu", correct: true },
    });
    expect(ok!.data).not.toHaveProperty("medianMs");
    expect(bad).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/does not compile with NVRTC .* for compute_80: .*bad\.cu\(3\): error/s),
    });
    expect(mangled).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/has no kernel named my_add: declare it extern "C" __global__/),
    });
    // The last element is never written: still NaN from the poison.
    expect(wrong).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/worst element \[999\] = NaN/),
    });
    expect(notRun).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/^compiles with NVRTC .*; not run: napi-cuda unavailable/),
    });
    expect(section.status).toBe("fail");
  });

  it("a source the emulator cannot build is refused with g++'s reason; a good one builds", () => {
    const user = {
      kernel: "vector-add" as const,
      label: "k.cu",
      fn: "my_add",
      grid: () => [1, 1, 1] as [number, number, number],
      block: [256, 1, 1] as [number, number, number],
      arch: "compute_80",
    };
    expect(buildUserEmulator({ ...user, source: `#include <cuda_fp16.h>\n${good}` }).error).toMatch(
      /cuda_fp16\.h: No such file or directory/,
    );
    expect(buildUserEmulator({ ...user, source: good }).bin).toBeDefined();
    // A cache folder that cannot be made is a reason naming the fix, not a crash.
    const file = join(mkdtempSync(join(tmpdir(), "gpuci-emu-cache-")), "a-file");
    writeFileSync(file, "");
    process.env.GPUCI_EMU_CACHE = join(file, "cache");
    try {
      expect(buildUserEmulator({ ...user, source: `${good}\n// another key` }).error).toMatch(
        /could not build in .*set GPUCI_EMU_CACHE to a writable folder/,
      );
    } finally {
      delete process.env.GPUCI_EMU_CACHE;
    }
  });
});

describe("peak FLOP/s of CUDA devices", () => {
  it("comes from SMs × clock × the per-clock rate, only where that rate is known", () => {
    // H100 SXM: 132 SMs at 1.98 GHz boost → 1,070 TFLOP/s dense f16 at that clock; 67 TFLOP/s f32.
    const h100 = cudaPeak("9.0", 132, 1_980_000)!;
    expect(h100.f16! / 1e12).toBeCloseTo(1070.5, 0);
    expect(h100.f32! / 1e12).toBeCloseTo(66.9, 0);
    // L4 (8.9): f32 known, f16 tensor rate differs between parts of that capability.
    expect(cudaPeak("8.9", 58, 2_040_000)).toEqual({ f32: 256 * 58 * 2_040_000 * 1e3 });
    expect(cudaPeak("6.1", 20, 1_500_000)).toBeUndefined();
    expect(cudaPeak(undefined, 20, 1_500_000)).toBeUndefined();
  });
});

// The CUDA kernels' own source, run on the CPU: native/kernels.cu built as host C++ against the
// test emulator (native/emu/cuda_emu.h: coroutine threads, __syncthreads, warp shuffles, and
// mma.sync computed from the PTX ISA's fragment layouts), launched as the CUDA path launches it.
// This proves indexing, tiling edges, fragment layouts and the f16 paths; not timing or races.
const native = fileURLToPath(new URL("../native/", import.meta.url));

function catalogEmulator(arch: 75 | 80, label: string, sourceDir?: string): Backend {
  const built = buildCatalogEmulator(arch, sourceDir);
  if (!built.bin) throw new Error(`building the CUDA emulator failed: ${built.error}`);
  return emulatedCatalogBackend(built.bin, label);
}

// Beyond the catalog's defaults: several blocks in both grid dimensions, K not a multiple of the
// 32-wide staging, shapes that take the f16 matmul's 16-byte load path (K, N multiples of 8)
// and the scalar one, and every attention head-dim specialisation (32, 64, 128) with padding.
const CUDA_SHAPES: Record<KernelName, KernelShape[]> = {
  "vector-add": [{ n: 1 }, { n: 1000 }],
  matmul: [
    { m: 1, n: 1, k: 1 },
    { m: 67, n: 35, k: 129 },
    { m: 136, n: 264, k: 72 },
    { m: 130, n: 257, k: 70 },
  ],
  softmax: [
    { rows: 3, cols: 1 },
    { rows: 5, cols: 1000 },
  ],
  layernorm: [{ rows: 4, cols: 777 }],
  attention: [
    { b: 1, h: 2, s: 67, d: 7 },
    { b: 2, h: 1, s: 70, d: 64, causal: true },
    { b: 1, h: 1, s: 33, d: 100 },
    { b: 1, h: 1, s: 65, d: 128, causal: true },
  ],
};

describe.each([80, 75])("the CUDA kernels' source under the emulator (sm_%i mma shapes)", (arch) => {
  let backend: Backend;
  beforeAll(() => {
    backend = catalogEmulator(arch as 75 | 80, `cuda-emu:sm_${arch}`);
  }, 120_000);

  it.each(KERNELS)(
    "%s in f32 and f16 matches the float64 reference",
    async (kernel) => {
      for (const dtype of ["f32", "f16"] as const)
        for (const shape of CUDA_SHAPES[kernel]) {
          const r = await checkKernel(backend, kernel, shape, { dtype, trials: 2 });
          expect(r.correct, `${kernel} ${dtype} ${JSON.stringify(shape)}: ${r.reason}`).toBe(true);
        }
    },
    300_000,
  );
});

describe("the emulator catches a wrong kernel", () => {
  it("a tensor-core fragment loaded from the wrong k half fails the f16 matmul check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gpuci-emu-mutant-"));
    cpSync(native, dir, { recursive: true });
    const file = join(dir, "kernels.cu");
    const source = readFileSync(file, "utf8");
    const mutant = source.replace("af[i][2] = As[r][ks + t + 4];", "af[i][2] = As[r][ks + t];");
    expect(mutant).not.toBe(source);
    writeFileSync(file, mutant);
    const backend = catalogEmulator(80, "cuda-emu:mutant", `${dir}/`);
    const r = await checkKernel(backend, "matmul", { m: 40, n: 24, k: 48 }, { dtype: "f16", trials: 1 });
    expect(r.correct).toBe(false);
    const ok = await checkKernel(backend, "softmax", { rows: 2, cols: 10 }, { trials: 1 });
    expect(ok.correct, "the rest of the mutant still works").toBe(true);
  }, 120_000);
});
