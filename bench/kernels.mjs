// bench/kernels: napi CPU matmul f32 1024^3 beside numpy (OpenBLAS) and the machine's peak;
// softmax GB/s beside a plain memory copy; attention (1, 8, 512, 64) on every backend here.
// Target: napi matmul >= 0.5x numpy. Timings on a software GPU are labelled, not GPU performance.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/cuda-kernels/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/kernels: build first (npm run build)");
  process.exit(1);
}
const { listBackends, benchKernel, checkKernel } = await import(dist);
const { backends, unavailable } = await listBackends("all");
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
    `${r.medianMs.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`,
    info.software ? "software/CPU: not GPU performance" : info.timing,
  );
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
process.exit(0);
