// bench/kernels: napi CPU matmul f32 1024^3 beside numpy (OpenBLAS) and the machine's peak;
// softmax GB/s beside a plain memory copy; attention (1, 8, 512, 64) on every backend here.
// Target: napi matmul >= 0.5x numpy. Timings on a software GPU are labelled, not GPU performance.
// Where napi-cuda is available (a GPU with a driver and NVRTC): CUDA matmul f16 4096³ beside
// torch.matmul (target >= 0.7x) and attention (1, 8, 512, 64) f16 beside
// torch.nn.functional.scaled_dot_product_attention (target <= 1.0x its time), both sides timed
// the same way: CUDA events around one launch, L2 flushed (256 MiB written) before each sample.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/cuda-kernels/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/kernels: build first (npm run build)");
  process.exit(1);
}
const { listBackends, benchKernel, checkKernel, webgpuBackend } = await import(dist);
const { backends: found, unavailable } = await listBackends("all");
// Every WebGPU adapter this machine offers, each by name: Vulkan (a GPU, or lavapipe) and GLES.
const backends = found.filter((b) => b.name !== "webgpu");
const adapters = new Set();
for (const force of ["vulkan", "opengles"]) {
  const { backend } = await webgpuBackend({ force });
  if (!backend || adapters.has(backend.info().device)) continue;
  adapters.add(backend.info().device);
  backends.push({
    ...backend,
    name: `webgpu (${force})`,
    info: () => backend.info(),
    supports: (k, d) => backend.supports(k, d),
    run: (...a) => backend.run(...a),
  });
}
const napi = backends.find((b) => b.name === "napi-cpu");

const rows = [];
const add = (what, backend, value, note = "") => rows.push({ what, backend, value, note });

// Peak: cores x 2 FMA units x 8 f32 lanes x 2 FLOP x clock (AVX2 + FMA).
const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? 0);
const peak = mhz ? availableParallelism() * 2 * 8 * 2 * mhz * 1e6 : undefined;

const N = 1024;
if (napi) {
  const check = await checkKernel(napi, "matmul", { m: 129, n: 65, k: 257 }, { trials: 2 });
  if (!check.correct) throw new Error("napi matmul is wrong; not timing it");
  const r = await benchKernel(napi, "matmul", { m: N, n: N, k: N }, { maxSamples: 30, budgetMs: 8000 });
  add(
    "matmul f32 1024³",
    "napi-cpu",
    `${r.gflops.toFixed(1)} GFLOP/s`,
    `median ${r.medianMs.toFixed(2)} ms, n=${r.samples.length}`,
  );
  rows.gflops = r.gflops;
}
const np = spawnSync(
  "python3",
  [
    "-c",
    `import numpy as np, time
a=np.random.rand(${N},${N}).astype(np.float32); b=np.random.rand(${N},${N}).astype(np.float32)
for _ in range(3): a@b
ts=[]
for _ in range(20):
  t=time.perf_counter(); a@b; ts.append(time.perf_counter()-t)
ts.sort(); print(2*${N}**3/ts[len(ts)//2]/1e9)`,
  ],
  { encoding: "utf8" },
);
const numpy = np.status === 0 ? Number(np.stdout.trim()) : undefined;
if (numpy) add("matmul f32 1024³", "numpy (OpenBLAS)", `${numpy.toFixed(1)} GFLOP/s`, "median of 20");
if (peak)
  add(
    "matmul f32 peak",
    `${availableParallelism()} cores × AVX2 FMA @ ${mhz.toFixed(0)} MHz`,
    `${(peak / 1e9).toFixed(1)} GFLOP/s`,
    "theoretical",
  );

// Memory copy bandwidth (read + write) with one 256 MiB copy, median of 5.
const src = Buffer.alloc(256 * 1024 * 1024, 1);
const dst = Buffer.alloc(src.length);
const copies = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  src.copy(dst);
  copies.push(performance.now() - t);
}
copies.sort((a, b) => a - b);
add(
  "memory copy 256 MiB",
  "Buffer.copy",
  `${((2 * src.length) / (copies[2] * 1e6)).toFixed(1)} GB/s`,
  "read + write",
);
if (napi) {
  const r = await benchKernel(
    napi,
    "softmax",
    { rows: 4096, cols: 4096 },
    { maxSamples: 30, budgetMs: 5000 },
  );
  add("softmax 4096×4096", "napi-cpu", `${r.gbps.toFixed(1)} GB/s`, `median ${r.medianMs.toFixed(2)} ms`);
}
for (const b of backends.filter((x) => x.name.startsWith("webgpu"))) {
  for (const dtype of ["f32", "f16"]) {
    if (b.supports("matmul", dtype)) continue;
    const c = await checkKernel(b, "matmul", { m: 67, n: 35, k: 129 }, { dtype, trials: 1 });
    if (!c.correct) {
      add(`matmul ${dtype} 512³`, b.name, "wrong: not timed", c.reason);
      continue;
    }
    const r = await benchKernel(
      b,
      "matmul",
      { m: 512, n: 512, k: 512 },
      { dtype, maxSamples: 10, budgetMs: 8000 },
    );
    const i = b.info();
    add(
      `matmul ${dtype} 512³`,
      b.name,
      r.belowResolution ? "not timed" : `${r.gflops.toFixed(2)} GFLOP/s`,
      `${i.device.slice(0, 60)}; ${r.belowResolution ?? (i.software ? "software: not GPU performance" : i.timing)}`,
    );
  }
}
for (const b of backends) {
  const shape = { b: 1, h: 8, s: 512, d: 64 };
  const c = await checkKernel(b, "attention", { b: 1, h: 2, s: 65, d: 64 }, { trials: 1 });
  if (!c.correct) {
    add("attention (1, 8, 512, 64)", b.name, "wrong: not timed", c.reason);
    continue;
  }
  const r = await benchKernel(b, "attention", shape, { maxSamples: 10, budgetMs: 8000 });
  const info = b.info();
  add(
    "attention (1, 8, 512, 64)",
    b.name,
    r.belowResolution ? "not timed" : `${r.medianMs.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`,
    `${info.device.slice(0, 60)}; ${r.belowResolution ?? (info.software ? "software/CPU: not GPU performance" : info.timing)}`,
  );
}
const cuda = backends.find((b) => b.name === "napi-cuda");
const ratios = [];
if (cuda) {
  const torch = (body) => {
    const r = spawnSync(
      "python3",
      [
        "-c",
        `import torch, torch.nn.functional as F
torch.manual_seed(0)
flush = torch.empty(256 * 1024 * 1024 // 4, dtype=torch.int32, device="cuda")
def timed(fn, n=50):
    for _ in range(10): fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        flush.zero_()
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort(); return ts[len(ts) // 2]
${body}`,
      ],
      { encoding: "utf8" },
    );
    return r.status === 0
      ? Number(r.stdout.trim())
      : { error: (r.stderr || r.error?.message || "").trim().split("\n").pop() };
  };
  const versus = (what, ours, theirsMs, theirName, better) => {
    if (typeof theirsMs !== "number") {
      add(what, theirName, "not measured", theirsMs.error?.slice(0, 80) ?? "");
      return;
    }
    add(what, theirName, `${theirsMs.toFixed(4)} ms`, "CUDA events, L2 flushed, median of 50");
    const ratio = better === "throughput" ? theirsMs / ours.medianMs : ours.medianMs / theirsMs;
    ratios.push({ what, ratio, better });
  };
  const M = 4096;
  const mm = await checkKernel(cuda, "matmul", { m: 257, n: 129, k: 300 }, { dtype: "f16", trials: 2 });
  if (!mm.correct) add("matmul f16", "napi-cuda", "wrong: not timed", mm.reason);
  else {
    const r = await benchKernel(
      cuda,
      "matmul",
      { m: M, n: M, k: M },
      { dtype: "f16", maxSamples: 50, budgetMs: 10000 },
    );
    add(
      `matmul f16 ${M}³`,
      "napi-cuda",
      `${r.medianMs.toFixed(4)} ms, ${(r.gflops / 1000).toFixed(1)} TFLOP/s`,
      `n=${r.samples.length}${r.peakFraction ? `, ${(r.peakFraction * 100).toFixed(0)} % of peak` : ""}`,
    );
    versus(
      `matmul f16 ${M}³`,
      r,
      torch(`a = torch.randn(${M}, ${M}, device="cuda", dtype=torch.float16); b = torch.randn(${M}, ${M}, device="cuda", dtype=torch.float16)
print(timed(lambda: a @ b))`),
      "torch.matmul (cuBLAS)",
      "throughput",
    );
  }
  for (const dtype of ["f16", "f32"]) {
    const at = await checkKernel(
      cuda,
      "attention",
      { b: 1, h: 2, s: 130, d: 64, causal: false },
      { dtype, trials: 2 },
    );
    if (!at.correct) {
      add(`attention ${dtype}`, "napi-cuda", "wrong: not timed", at.reason);
      continue;
    }
    const shape = { b: 1, h: 8, s: 512, d: 64 };
    const r = await benchKernel(cuda, "attention", shape, { dtype, maxSamples: 50, budgetMs: 10000 });
    add(
      `attention ${dtype} (1, 8, 512, 64)`,
      "napi-cuda",
      `${r.medianMs.toFixed(4)} ms`,
      `n=${r.samples.length}`,
    );
    const tdt = dtype === "f16" ? "torch.float16" : "torch.float32";
    versus(
      `attention ${dtype} (1, 8, 512, 64)`,
      r,
      torch(`q, k, v = (torch.randn(1, 8, 512, 64, device="cuda", dtype=${tdt}) for _ in range(3))
print(timed(lambda: F.scaled_dot_product_attention(q, k, v)))`),
      "torch SDPA",
      "time",
    );
  }
}
for (const u of unavailable) add("—", u.name, "unavailable", u.reason.slice(0, 80));

console.log(`bench/kernels on ${availableParallelism()} cores, node ${process.version}\n`);
console.log("| what | backend | result | note |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.what} | ${r.backend} | ${r.value} | ${r.note} |`);
if (rows.gflops && numpy)
  console.log(
    `\ntarget: napi matmul >= 0.5x numpy: ${(rows.gflops / numpy).toFixed(2)}x, ${rows.gflops / numpy >= 0.5 ? "met" : "NOT met"}`,
  );
for (const { what, ratio, better } of ratios)
  console.log(
    better === "throughput"
      ? `target: napi-cuda ${what} >= 0.7x torch: ${ratio.toFixed(2)}x, ${ratio >= 0.7 ? "met" : "NOT met"}`
      : `target: napi-cuda ${what} <= 1.0x SDPA's time: ${ratio.toFixed(2)}x, ${ratio <= 1 ? "met" : "NOT met"}`,
  );
process.exit(0);
