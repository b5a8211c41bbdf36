import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { regressionVerdict } from "@gpuci/gates";
import { describe, expect, it } from "vitest";
import {
  availableMemoryBytes,
  type Backend,
  belowResolution,
  benchAB,
  benchKernel,
  CATALOG,
  checkKernel,
  compileDispatch,
  DEFAULT_SHAPES,
  fromHalfBits,
  KERNELS,
  type KernelName,
  type KernelShape,
  listBackends,
  loadAddon,
  napiBackends,
  roundToF16,
  runKernels,
  timerTick,
  toHalfBits,
  WGSL,
  WGSL_F16,
  WGSL_MATMUL_F16,
  webgpuBackend,
} from "./index.js";

const ODD: Record<KernelName, KernelShape[]> = {
  "vector-add": [{ n: 1 }, { n: 4099 }],
  matmul: [
    { m: 1, n: 1, k: 1 },
    { m: 17, n: 33, k: 15 },
  ],
  softmax: [
    { rows: 1, cols: 1 },
    { rows: 5, cols: 257 },
  ],
  layernorm: [{ rows: 3, cols: 65 }],
  attention: [
    { b: 2, h: 1, s: 17, d: 7 },
    { b: 1, h: 3, s: 33, d: 16, causal: true },
  ],
};

async function backend(name: string): Promise<Backend> {
  if (name === "webgpu:vulkan" || name === "webgpu:opengles") return adapter(name.slice(7) as "vulkan");
  const { backends, unavailable } = await listBackends("all");
  const b = backends.find((x) => x.name === name);
  if (!b) throw new Error(`${name} is unavailable here: ${unavailable.find((u) => u.name === name)?.reason}`);
  return b;
}

/**
 * One of the two software adapters CI installs: Vulkan on lavapipe (Mesa >= 25, shader-f16,
 * timestamp queries) and OpenGL ES on llvmpipe (compatibility level). Both are required in CI.
 */
async function adapter(force: "vulkan" | "opengles"): Promise<Backend> {
  const { backend: b, unavailable } = await webgpuBackend({ force });
  if (!b) throw new Error(`webgpu (${force}) is unavailable here: ${unavailable?.reason}`);
  return b;
}

/**
 * On a GPU machine (the GPU proof run sets GPUCI_PROOF=1) the software adapters CI installs are
 * absent and the real GPU's adapters take their place: the adapter tests run on the adapters
 * that exist, f16 ones where the adapter has shader-f16. Everywhere else both are required.
 */
const PROOF = process.env.GPUCI_PROOF === "1";
const present = async (force: "vulkan" | "opengles", f16 = false) => {
  if (!PROOF) return true;
  const { backend: b } = await webgpuBackend({ force });
  return b !== undefined && (!f16 || b.supports("matmul", "f16") === undefined);
};
const ADAPTERS = [
  ...((await present("vulkan")) ? ["webgpu:vulkan"] : []),
  ...((await present("opengles")) ? ["webgpu:opengles"] : []),
];
const VULKAN_F16 = (await present("vulkan", true)) ? ["webgpu:vulkan"] : [];
/** The real CUDA path joins the catalog checks on a machine with a driver (the GPU proof run). */
const CUDA = napiBackends().backends.some((b) => b.name === "napi-cuda") ? ["napi-cuda"] : [];

describe.each(["napi-cpu", ...ADAPTERS, ...CUDA])(
  "every catalog kernel on %s against its float64 reference",
  (name) => {
    it.each(KERNELS)(
      "%s, default and odd shapes",
      async (kernel) => {
        const b = await backend(name);
        for (const shape of [...DEFAULT_SHAPES[kernel], ...ODD[kernel]]) {
          const r = await checkKernel(b, kernel, shape, { trials: 2 });
          expect(r.correct, `${kernel} ${JSON.stringify(shape)}: ${r.reason}`).toBe(true);
          expect(r.maxAbsErr).toBeLessThan(1e-3);
        }
      },
      120_000,
    );
  },
);

describe.each(["napi-cpu", ...VULKAN_F16, ...CUDA])("every catalog kernel in f16 on %s", (name) => {
  it.each(KERNELS)(
    "%s, default and odd shapes, at the f16 tolerance",
    async (kernel) => {
      const b = await backend(name);
      expect(b.supports(kernel, "f16")).toBeUndefined();
      for (const shape of [...DEFAULT_SHAPES[kernel], ...ODD[kernel]]) {
        const r = await checkKernel(b, kernel, shape, { dtype: "f16", trials: 2 });
        expect(r.correct, `${kernel} ${JSON.stringify(shape)}: ${r.reason}`).toBe(true);
      }
    },
    120_000,
  );
});

describe("f16", () => {
  it.each(["napi-cpu", ...VULKAN_F16, ...CUDA])(
    "matmul f16 on %s passes at the f16 tolerance and is really rounded to half precision",
    async (name) => {
      const b = await backend(name);
      const r = await checkKernel(b, "matmul", { m: 33, n: 17, k: 65 }, { dtype: "f16" });
      expect(r.correct, r.reason).toBe(true);
      expect(r.maxRelErr).toBeGreaterThan(1e-4); // an f32 result would be far closer
    },
  );
});

describe("half precision on the host (for f16 WGSL storage)", () => {
  it("round-trips every finite binary16 value and rounds like roundToF16", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) expect(Number.isNaN(fromHalfBits(toHalfBits(v)))).toBe(true);
      else if (h !== 0x8000) expect(toHalfBits(v)).toBe(h);
    }
    expect([toHalfBits(1), toHalfBits(-2), toHalfBits(65504), toHalfBits(1e6), toHalfBits(2 ** -24)]).toEqual(
      [0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001],
    );
    const r = (x: number) => fromHalfBits(toHalfBits(x));
    for (const x of [0.1, 1 / 3, 123.456, -7.77e-3, Math.PI]) expect(r(x)).toBe(roundToF16(x));
  });

  it("the f16 shaders are the f32 ones with f16 storage and f32 arithmetic", () => {
    expect(WGSL_MATMUL_F16).toBe(WGSL_F16.matmul.code);
    for (const k of KERNELS) {
      const code = WGSL_F16[k].code;
      expect(code.startsWith("enable f16;"), k).toBe(true);
      expect(code, k).not.toContain("array<f32>");
      expect(code.match(/array<f16>/g), k).toHaveLength(WGSL[k].buffers);
      // With the storage type put back, the f16 source is the f32 source: same arithmetic.
      expect(code.replace("enable f16;\n", "").replaceAll("f16", "f32"), k).toBe(WGSL[k].code);
    }
    expect(WGSL_MATMUL_F16).toContain("av = f32(a[ar * p.k + ak]);");
    expect(WGSL_MATMUL_F16).toContain("c[r * p.n + col] = f16(acc[i][j]);");
  });
});

describe.skipIf(PROOF)("the software WebGPU adapters", () => {
  it("are chosen explicitly and labelled as software, never as GPU performance", async () => {
    const vk = (await adapter("vulkan")).info();
    expect(vk).toMatchObject({
      software: true,
      timing: "GPU timestamp queries; software GPU: not GPU performance",
    });
    expect(vk.device).toMatch(/llvmpipe.*\(vulkan\/default\)$/);
    expect(vk.details?.features).toEqual(expect.arrayContaining(["shader-f16", "timestamp-query"]));
    const gles = await adapter("opengles");
    expect(gles.info()).toMatchObject({
      software: true,
      timing: expect.stringMatching(/software GPU: not GPU performance$/),
    });
    expect(gles.info().device).toMatch(/OpenGL ES.*\(opengles \(compatibility\)\)$/);
    expect(gles.supports("matmul", "f16")).toBe("this adapter has no shader-f16");
    const bad = await webgpuBackend({ force: "metal" as "vulkan" });
    expect(bad.unavailable?.reason).toMatch(/not a backend: use vulkan or opengles/);
  });
});

/** A wrapper that runs a real backend and then breaks its output the way buggy kernels do. */
function broken(inner: Backend, damage: (out: Float32Array, kernel: KernelName) => void): Backend {
  return {
    name: `${inner.name}-broken`,
    info: () => inner.info(),
    supports: (k, d) => inner.supports(k, d),
    async run(kernel, shape, inputs, output, dtype) {
      const ms = await inner.run(kernel, shape, inputs, output, dtype);
      damage(output, kernel);
      return ms;
    },
  };
}

describe("deliberately broken kernels are caught", () => {
  it("one that skips the last element (left NaN by the poison)", async () => {
    const b = broken(await backend("napi-cpu"), (out) => {
      out[out.length - 1] = Number.NaN;
    });
    const r = await checkKernel(b, "vector-add", { n: 1000 });
    expect(r.correct).toBe(false);
    expect(r.worst?.index).toBe(999);
    expect(r.reason).toMatch(/NaN\/Inf where the reference is finite/);
  });

  it("one with an off-by-one tile edge (column 16 of every row wrong)", async () => {
    const b = broken(await backend("webgpu"), (out, kernel) => {
      if (kernel !== "matmul") return;
      for (let row = 0; row < 40; row++) out[row * 35 + 16] = out[row * 35 + 15]!;
    });
    const r = await checkKernel(b, "matmul", { m: 40, n: 35, k: 20 });
    expect(r.correct).toBe(false);
    expect((r.worst?.index ?? -1) % 35).toBe(16);
  });

  it("a wrong kernel is reported with its worst element and never timed", async () => {
    const b = broken(await backend("napi-cpu"), (out) => {
      out[0] = out[0]! + 1;
    });
    // Route runKernels through the broken backend by checking directly, as runKernels does.
    const r = await checkKernel(b, "softmax", { rows: 2, cols: 10 });
    expect(r).toMatchObject({ correct: false, trials: 1, worst: { index: 0 } });
  });
});

describe("the napi backends", () => {
  it("without a CUDA driver the addon still loads, says why, and the CPU path serves", () => {
    const { backends, unavailable } = napiBackends();
    expect(backends.map((b) => b.name)).toContain("napi-cpu");
    const cuda = unavailable.find((u) => u.name === "napi-cuda");
    if (backends.some((b) => b.name === "napi-cuda")) return; // a machine with a driver
    expect(cuda?.reason).toMatch(/libcuda\.so\.1|CUDA_ERROR|cudaErrorInsufficientDriver|NVRTC/);
  });
});

/** A backend that computes on `inner` but reports times from `clock` (a timer under test). */
function clocked(inner: Backend, clock: (i: number) => number): Backend {
  let i = 0;
  return {
    name: inner.name,
    info: () => inner.info(),
    supports: (k, d) => inner.supports(k, d),
    async run(kernel, shape, inputs, output, dtype) {
      await inner.run(kernel, shape, inputs, output, dtype);
      return clock(i++);
    },
  };
}

describe("a timer too coarse for the kernel", () => {
  // Dawn's default quantizes timestamps to 65,536 ns: an H200 read a 256³ matmul as 0 or 65.5 µs
  // and reported "Infinity GFLOP/s" (GPU proof run, 2026-12-04).
  const TICK = 65_536 / 1e6;
  it("is recognised from the samples: zeros, or few ticks of one clock", () => {
    expect(timerTick([0, TICK, TICK, 0, 2 * TICK])).toBeCloseTo(TICK, 12);
    expect(timerTick([0.131072, 0.131072, 0.131072])).toBeCloseTo(0.131072, 12);
    expect(timerTick([0.3163, 0.3303, 0.3256, 0.3228, 0.3104])).toBeUndefined(); // host time
    expect(belowResolution([0, TICK, TICK, 0, TICK])).toMatch(
      /^not timed: the kernel finishes within the timer's resolution \(2 of 5 samples read 0; the timer ticks every 65\.5 µs, median 65\.5 µs\)/,
    );
    expect(belowResolution(Array(10).fill(2 * TICK))).toMatch(/ticks every 131 µs, median 131 µs/);
    // 60 ticks and more: a 1 % quantization error at most, timed as usual.
    expect(belowResolution([60, 61, 60, 62, 60].map((k) => k * TICK))).toBeUndefined();
    expect(belowResolution([1.1233, 1.1241, 1.1229, 1.125])).toBeUndefined();
  });

  it("gives a warning without a median or throughput, never Infinity", async () => {
    const cpu = await backend("napi-cpu");
    const { section, rows } = await runKernels(
      [{ kernel: "matmul", shapes: [{ m: 64, n: 64, k: 64 }], backends: ["napi"] }],
      {
        backends: { backends: [clocked(cpu, (i) => (i % 3 === 0 ? 0 : TICK))], unavailable: [] },
        budgetMs: 100,
      },
    );
    expect(section.findings[0]).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(
        /^correct over \d+ trials .*; not timed: the kernel finishes within the timer's resolution/,
      ),
      remedy: expect.stringMatching(/at least 50× the work/),
    });
    expect(rows[0]).not.toHaveProperty("gflops");
    expect(rows[0]).not.toHaveProperty("medianMs");
    expect(JSON.stringify(section)).not.toMatch(/Infinity/);
  });

  it.each(ADAPTERS)(
    "WebGPU timestamps on %s keep the GPU's own resolution (not 65.5 µs steps)",
    async (name) => {
      const b = await backend(name);
      if (!b.info().timing.startsWith("GPU timestamp queries")) return; // host time: nothing to quantize
      const r = await benchKernel(
        b,
        "vector-add",
        { n: 4096 },
        { maxSamples: 12, minSamples: 12, budgetMs: 5000 },
      );
      // Samples differ by less than a microsecond somewhere (or share no tick at all).
      expect(timerTick(r.samples) ?? 0, r.samples.join(", ")).toBeLessThan(1e-3);
      expect(r.belowResolution).toBeUndefined();
    },
  );
});

describe("timing and reporting", () => {
  it("times only after correctness, with median/p20/p80 and throughput", async () => {
    const b = await backend("napi-cpu");
    const r = await benchKernel(b, "matmul", { m: 64, n: 64, k: 64 }, { maxSamples: 20, budgetMs: 500 });
    expect(r.samples.length).toBeGreaterThanOrEqual(3);
    expect(r.p20Ms).toBeLessThanOrEqual(r.medianMs);
    expect(r.medianMs).toBeLessThanOrEqual(r.p80Ms);
    expect(r.gflops).toBeCloseTo(
      CATALOG.matmul.flops(CATALOG.matmul.normalize({ m: 64, n: 64, k: 64 })) / (r.medianMs * 1e6),
      6,
    );
    const ab = await benchAB(b, await backend("webgpu"), "vector-add", { n: 4096 }, 5);
    expect(ab.a).toHaveLength(5);
    expect(ab.b).toHaveLength(5);
    // The pairs are decided by the one verdict every comparison uses (gates decide, kernels measure).
    const v = regressionVerdict(ab.a, ab.b, { direction: "smaller", maxRegression: 0.05, paired: true });
    expect(["regressed", "unchanged", "improved", "inconclusive"]).toContain(v.verdict);
    expect(v).toMatchObject({ nBase: 5, nHead: 5, confidence: 0.95 });
    // f16 A/B on the two backends that have it; a backend without the dtype is refused up front.
    for (const name of VULKAN_F16) {
      const ab16 = await benchAB(b, await backend(name), "matmul", { m: 40, n: 24, k: 72 }, 3, {
        dtype: "f16",
      });
      expect([ab16.a.length, ab16.b.length]).toEqual([3, 3]);
    }
    if (ADAPTERS.includes("webgpu:opengles"))
      await expect(
        benchAB(b, await backend("webgpu:opengles"), "matmul", { m: 8, n: 8, k: 8 }, 3, { dtype: "f16" }),
      ).rejects.toThrow(/cannot run matmul in f16: this adapter has no shader-f16/);
  });

  it.each(ADAPTERS)("a cache flush on %s between samples leaves the next result correct", async (name) => {
    const b = await backend(name);
    for (let i = 0; i < 2; i++) {
      b.flush?.();
      const r = await checkKernel(b, "matmul", { m: 33, n: 65, k: 17 }, { trials: 1 });
      expect(r.correct, r.reason).toBe(true);
    }
    expect(b.flush).toBeTypeOf("function");
  });

  it("runKernels gives one finding per (kernel, shape, dtype, backend) with the documented data, and a CSV", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-kernels-"));
    const csv = join(dir, "k.csv");
    const { section } = await runKernels(
      [
        {
          kernel: "attention",
          shapes: [{ b: 1, h: 2, s: 33, d: 16 }],
          dtypes: ["f32", "f16"],
          backends: ["napi", "webgpu"],
        },
      ],
      { csv, budgetMs: 200 },
    );
    const byBackend = (b: string, dt: string) =>
      section.findings.find(
        (f) =>
          (f.data as { backend?: string; dtype?: string })?.backend === b &&
          (f.data as { dtype?: string }).dtype === dt,
      );
    for (const b of ["napi-cpu", "webgpu"]) {
      const f = byBackend(b, "f32")!;
      expect(f.status).toBe("pass");
      for (const k of [
        "kernel",
        "backend",
        "device",
        "dtype",
        "shape",
        "correct",
        "maxAbsErr",
        "maxRelErr",
        "medianMs",
        "p20Ms",
        "p80Ms",
        "samples",
        "gflops",
        "gbps",
      ])
        expect(f.data, `${b} ${k}`).toHaveProperty(k);
    }
    expect(byBackend("napi-cpu", "f16")?.status).toBe("pass"); // emulated f16 storage
    // The default adapter in CI is lavapipe's Vulkan, which has shader-f16.
    const f16 = !(await backend("webgpu")).supports("attention", "f16");
    expect(byBackend("webgpu", "f16")).toMatchObject(
      f16 ? { status: "pass" } : { status: "skip", summary: expect.stringMatching(/shader-f16/) },
    );
    const text = await readFile(csv, "utf8");
    expect(text.split("\n")[0]).toMatch(/^kernel,backend,device,software,dtype,shape,correct,maxAbsErr/);
    // header + napi f32, napi f16, webgpu f32 (+ webgpu f16) (+ napi-cuda f32 and f16 on a GPU)
    expect(text.trim().split("\n")).toHaveLength((f16 ? 5 : 4) + 2 * CUDA.length);
    await expect(runKernels([], { kernel: "conv2d" })).rejects.toThrow(/unknown kernel "conv2d"/);
  }, 60_000);
});

describe("kernel shapes are bounded before anything is allocated", () => {
  it("an absurd shape, one past the host's memory and one missing a size are error findings", async () => {
    const overHost = availableMemoryBytes() * 0.8 < 40 * 2 ** 30;
    const { section } = await runKernels(
      [
        {
          kernel: "vector-add",
          shapes: [{ n: 5_000_000_000 }],
          dtypes: ["f32"],
          backends: ["napi"],
          time: false,
        },
        // 2³¹ values a side: each array fits, together they need about 40 GiB. Only where that is
        // more than the host has (a machine with more would really run it, for minutes).
        ...(overHost
          ? [
              {
                kernel: "softmax",
                shapes: [{ rows: 65_536, cols: 32_768 }],
                dtypes: ["f32"] as Array<"f32">,
                backends: ["napi"],
                time: false,
              },
            ]
          : []),
        { kernel: "matmul", shapes: [{ m: 8, n: 8 }], dtypes: ["f32"], backends: ["napi"], time: false },
      ],
      {},
    );
    const byId = (re: RegExp) => section.findings.find((f) => re.test(f.id));
    expect(byId(/vector-add\.n=5000000000\.memory/)).toMatchObject({
      status: "error",
      summary: expect.stringMatching(/has 10,000,000,000 elements; gpuci's arrays hold at most/),
    });
    if (overHost)
      expect(byId(/softmax\.65536x32768\.memory/)).toMatchObject({
        status: "error",
        summary: expect.stringMatching(/needs about 40\.0 GiB of host memory .* GiB available/),
      });
    expect(byId(/matmul\.shape/)).toMatchObject({
      status: "error",
      summary: 'matmul needs a positive integer "k" in its shape (got undefined)',
    });
    expect(section.status).toBe("error");
  }, 60_000);
});

describe("user WGSL kernels from files", () => {
  const params = WGSL.softmax.code.slice(0, WGSL.softmax.code.indexOf("@group(0) @binding(1)"));
  // A user's own row-wise softmax: one invocation per row, a different entry point name.
  const mine = `${params}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(32) fn my_softmax(@builtin(global_invocation_id) g: vec3u) {
  let r = g.x;
  if (r >= p.m) { return; }
  var m = -3.4e38;
  for (var j = 0u; j < p.n; j++) { m = max(m, x[r * p.n + j]); }
  var sum = 0.0;
  for (var j = 0u; j < p.n; j++) { sum += exp(x[r * p.n + j] - m); }
  for (var j = 0u; j < LAST; j++) { y[r * p.n + j] = exp(x[r * p.n + j] - m) / sum; }
}`;

  it("a correct one passes against the catalog reference and is timed; a broken one is caught and not timed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-user-wgsl-"));
    await writeFile(join(dir, "good.wgsl"), mine.replace("LAST", "p.n"));
    await writeFile(join(dir, "bad.wgsl"), mine.replace("LAST", "p.n - 1u")); // skips the last element of each row
    const entry = (file: string) => ({
      kernel: "softmax",
      shapes: [{ rows: 37, cols: 129 }],
      source: { wgsl: file, entryPoint: "my_softmax", dispatch: ["ceil(rows/32)", 1, 1] },
    });
    const { section } = await runKernels([entry("good.wgsl"), entry("bad.wgsl")], {
      baseDir: dir,
      budgetMs: 200,
    });
    const [good, bad] = section.findings;
    expect(good).toMatchObject({ status: "pass", data: { backend: "webgpu:good.wgsl", correct: true } });
    expect((good!.data as { medianMs?: number }).medianMs).toBeGreaterThan(0);
    expect(bad).toMatchObject({ status: "fail", data: { backend: "webgpu:bad.wgsl", correct: false } });
    expect(bad!.summary).toMatch(/worst element \[128\] = NaN/);
    expect((bad!.data as { medianMs?: number }).medianMs).toBeUndefined();
    const missing = await runKernels([entry("nope.wgsl")], { baseDir: dir });
    expect(missing.section.findings[0]).toMatchObject({
      status: "error",
      summary: expect.stringMatching(/nope\.wgsl does not exist/),
    });
  }, 60_000);

  it("dispatch expressions use the kernel's size names only", () => {
    const f = compileDispatch("matmul", "ceil(n/16)");
    expect(f({ m: 1, n: 33, k: 1, b: 0, h: 0, s: 0, d: 0, causal: false, eps: 0 })).toBe(3);
    expect(() => compileDispatch("matmul", "process.exit(1)")).toThrow(
      /uses "process"; matmul offers m, n, k/,
    );
    expect(() =>
      compileDispatch(
        "softmax",
        "rows - rows",
      )({ m: 4, n: 4, k: 0, b: 0, h: 0, s: 0, d: 0, causal: false, eps: 0 }),
    ).toThrow(/positive integer/);
  });
});

describe("user CUDA kernels", () => {
  it("without a driver they run in the CUDA emulator, untimed, and the addon's runSource says why", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-user-cuda-"));
    await writeFile(
      join(dir, "add.cu"),
      'extern "C" __global__ void my_add(const float* a, const float* b, float* c, int m, int n, int k, int bb, int h, int s, int d, int causal, float eps) {\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < m) c[i] = a[i] + b[i];\n}\n',
    );
    const entry = {
      kernel: "vector-add",
      shapes: [{ n: 1000 }],
      source: { cuda: "add.cu", function: "my_add", grid: ["ceil(n/256)", 1, 1], block: [256, 1, 1] },
    };
    const { section } = await runKernels([entry], { baseDir: dir, budgetMs: 200 });
    const { backends } = napiBackends();
    if (backends.some((b) => b.name === "napi-cuda")) {
      // A machine with a driver: the user kernel must be correct.
      expect(section.findings[0]?.status).toBe("pass");
      return;
    }
    // Without a driver: checked in the CUDA emulator on the CPU, never timed, saying why.
    expect(section.findings[0]).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(
        /^correct under the CUDA emulator .*not timed: napi-cuda unavailable: .*(libcuda|CUDA|NVRTC)/,
      ),
    });
    const { addon } = loadAddon();
    expect(() =>
      addon!.runSource(
        "",
        "f",
        [1, 1, 1],
        [1, 1, 1],
        CATALOG["vector-add"].normalize({ n: 1 }),
        [],
        new Float32Array(1),
      ),
    ).toThrow(/libcuda|CUDA|NVRTC/);
  });

  it("a source is either WGSL or CUDA, with the fields each needs", async () => {
    const { KernelsConfigSchema } = await import("./schema.js");
    expect(
      KernelsConfigSchema.safeParse([
        { kernel: "matmul", source: { cuda: "m.cu", function: "f", grid: [1, 1, 1], block: [32, 32, 1] } },
      ]).success,
    ).toBe(true);
    expect(
      KernelsConfigSchema.safeParse([
        {
          kernel: "matmul",
          source: { cuda: "m.cu", wgsl: "m.wgsl", function: "f", grid: [1, 1, 1], block: [32, 32, 1] },
        },
      ]).success,
    ).toBe(false);
    expect(
      KernelsConfigSchema.safeParse([
        { kernel: "matmul", source: { cuda: "m.cu", grid: [1, 1, 1], block: [32, 32, 1] } },
      ]).success,
    ).toBe(false);
  });
});

describe("user-supplied reference files", () => {
  // Inputs and outputs written by real numpy, as a project would save them from PyTorch.
  const numpy = async (script: string) => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-ref-"));
    execFileSync("python3", ["-c", `import numpy as np\nrng = np.random.default_rng(5)\n${script}`], {
      cwd: dir,
    });
    return dir;
  };
  const entry = (extra: Record<string, unknown> = {}) => ({
    kernel: "matmul",
    shapes: [{ m: 7, n: 5, k: 3 }],
    backends: ["napi"],
    time: false,
    reference: { inputs: ["a.npy", "b.npy"], output: "c.npy" },
    ...extra,
  });

  it("checks the kernel on the user's inputs against the user's output (f32 and f16 .npy)", async () => {
    const dir = await numpy(`a = rng.standard_normal((7, 3)).astype(np.float32)
b = rng.standard_normal((3, 5)).astype(np.float32)
np.save("a.npy", a); np.save("b.npy", b)
np.save("c.npy", a.astype(np.float64) @ b.astype(np.float64))
np.save("wrong.npy", a.astype(np.float64) @ b.astype(np.float64) + np.eye(7, 5) * 0.01)
np.save("c16.npy", (a.astype(np.float16).astype(np.float32) @ b.astype(np.float16).astype(np.float32)).astype(np.float16))
import json; json.dump((a.astype(np.float64) @ b.astype(np.float64)).tolist(), open("c.json", "w"))`);
    const { section } = await runKernels(
      [
        entry(),
        entry({ reference: { inputs: ["a.npy", "b.npy"], output: "c.json" } }),
        entry({ reference: { inputs: ["a.npy", "b.npy"], output: "wrong.npy" } }),
        entry({ dtypes: ["f16"], reference: { inputs: ["a.npy", "b.npy"], output: "c16.npy" } }),
      ],
      { baseDir: dir, backend: "napi" },
    );
    // napi-cuda adds a skip per entry where there is no driver, and the same results on a GPU.
    const on = (name: string) =>
      section.findings.filter((f) => (f.data as { backend?: string })?.backend === name);
    const ran = on("napi-cpu");
    if (CUDA.length > 0)
      expect(on("napi-cuda").map((f) => f.status)).toEqual(["pass", "pass", "fail", "pass"]);
    const byStatus = ran.map((f) => [f.status, (f.summary ?? "").slice(0, 60)]);
    expect(byStatus).toEqual([
      ["pass", expect.stringMatching(/^matches c\.npy \(inputs a\.npy, b\.npy\)/)],
      ["pass", expect.stringMatching(/^matches c\.json/)],
      ["fail", expect.stringMatching(/^differs from wrong\.npy/)],
      ["pass", expect.stringMatching(/^matches c16\.npy/)],
    ]);
    // The wrong element is on the diagonal the fixture perturbed.
    expect(ran[2]!.summary).toMatch(/worst element \[(0|6|12|18|24)\]/);
  });

  it("files that do not fit the shape or the kernel are errors that say which and why", async () => {
    const dir = await numpy(`np.save("a.npy", np.zeros((7, 3), dtype=np.float32))
np.save("b.npy", np.zeros((3, 5), dtype=np.float32))
np.save("c.npy", np.zeros((7, 4)))
np.save("i.npy", np.zeros(5, dtype=np.int32))`);
    const { section } = await runKernels(
      [
        entry(),
        entry({ reference: { inputs: ["a.npy"], output: "c.npy" } }),
        entry({ reference: { inputs: ["a.npy", "missing.npy"], output: "c.npy" } }),
        entry({ reference: { inputs: ["a.npy", "i.npy"], output: "c.npy" } }),
      ],
      { baseDir: dir, backend: "napi" },
    );
    const errors = section.findings.filter((f) => f.status !== "skip");
    expect(errors.map((f) => [f.status, f.summary])).toEqual([
      ["error", "c.npy holds 28 values; the output of matmul 7x5x3 has 35"],
      ["error", "matmul takes 2 inputs; kernels[].reference.inputs lists 1"],
      ["error", `missing.npy does not exist (looked in ${dir})`],
      ["error", "i.npy has dtype <i4; gpuci reads float16, float32 and float64"],
    ]);
    expect(errors[3]!.remedy).toMatch(/astype\(numpy\.float32\)/);
  });

  it("an entry with reference files names exactly one shape", async () => {
    const { KernelsConfigSchema } = await import("./schema.js");
    const r = KernelsConfigSchema.safeParse([
      {
        ...entry(),
        shapes: [
          { m: 7, n: 5, k: 3 },
          { m: 1, n: 1, k: 1 },
        ],
      },
    ]);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({
      path: [0, "shapes"],
      message: expect.stringMatching(/exactly one shape/),
    });
    expect(KernelsConfigSchema.safeParse([entry()]).success).toBe(true);
  });
});
