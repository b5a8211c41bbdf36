// bench/cuda-ptxas: what can be said about the CUDA kernels' performance without a GPU. Compiles
// the catalog (native/kernels.cu, as embedded in the addon) with NVRTC for each architecture and
// prints ptxas's resource report per kernel: registers a thread, shared memory a block, stack
// frame and spills, and the resident blocks an SM allows by registers and shared memory.
// Needs the built addon, NVRTC (GPUCI_NVRTC, or bash .ci/install-nvrtc) and ptxas.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!process.env.GPUCI_NVRTC && existsSync(join(root, ".nvrtc/nvidia"))) {
  for (const cu of readdirSync(join(root, ".nvrtc/nvidia"))) {
    const lib = join(root, ".nvrtc/nvidia", cu, "lib");
    const so = existsSync(lib) && readdirSync(lib).find((f) => /^libnvrtc\.so\.\d+$/.test(f));
    if (so) process.env.GPUCI_NVRTC = join(lib, so);
  }
}
const { loadAddon } = await import(join(root, "packages/cuda-kernels/dist/index.js"));
const { addon, error } = loadAddon();
if (!addon) {
  console.error(`bench/cuda-ptxas: ${error}`);
  process.exit(1);
}
const rtc = addon.info().nvrtc;
if (!rtc.available) {
  console.error(`bench/cuda-ptxas: ${rtc.reason}`);
  process.exit(1);
}
const ptxas = ["ptxas", "/usr/local/cuda/bin/ptxas"].find((p) => spawnSync(p, ["--version"]).status === 0);
if (!ptxas) {
  console.error("bench/cuda-ptxas: ptxas not found (install the CUDA toolkit or the nvidia-cuda-nvcc wheel)");
  process.exit(1);
}
// Per SM, by arch (the CUDA programming guide's table): registers, shared memory (bytes),
// resident threads and resident blocks.
const SM = {
  75: { regs: 65536, smem: 64 * 1024, threads: 1024, blocks: 16, name: "T4, RTX 20" },
  80: { regs: 65536, smem: 164 * 1024, threads: 2048, blocks: 32, name: "A100" },
  86: { regs: 65536, smem: 100 * 1024, threads: 1536, blocks: 16, name: "A10, RTX 30" },
  89: { regs: 65536, smem: 100 * 1024, threads: 1536, blocks: 24, name: "L4, RTX 40" },
  90: { regs: 65536, smem: 228 * 1024, threads: 2048, blocks: 32, name: "H100" },
};
const THREADS = (name) => (name.startsWith("attention") ? 64 * (Number(/_d(\d+)/.exec(name)[1]) / 32) : 256);
const dir = mkdtempSync(join(tmpdir(), "gpuci-ptxas-"));
const rows = [];
for (const arch of Object.keys(SM)) {
  const { ptx } = addon.compileCuda(addon.catalogSource(), `compute_${arch}`, "gpuci_kernels.cu");
  const file = join(dir, `k${arch}.ptx`);
  writeFileSync(file, ptx);
  const r = spawnSync(ptxas, [`-arch=sm_${arch}`, "-v", file, "-o", join(dir, `k${arch}.cubin`)], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const re =
    /Function properties for (\w+)\n\s*(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads\n[^\n]*Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?/g;
  for (const m of r.stderr.matchAll(re)) {
    const [, name, stack, spillSt, spillLd, regs, smem = "0"] = m;
    const t = THREADS(name);
    const byRegs = Math.floor(SM[arch].regs / (Number(regs) * t));
    const bySmem = Number(smem) ? Math.floor(SM[arch].smem / Number(smem)) : Number.POSITIVE_INFINITY;
    rows.push({
      arch,
      name,
      regs,
      smem,
      stack,
      spills: `${spillSt}/${spillLd}`,
      t,
      blocks: Math.min(byRegs, bySmem, Math.floor(SM[arch].threads / t), SM[arch].blocks),
    });
  }
}
console.log(
  `bench/cuda-ptxas: NVRTC ${rtc.version} (${rtc.library}), ${spawnSync(ptxas, ["--version"], { encoding: "utf8" }).stdout.trim().split("\n").pop()}\n`,
);
console.log(
  "| sm | kernel | threads/block | registers/thread | smem/block (B) | stack (B) | spill st/ld (B) | blocks/SM (estimate) |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows.sort((a, b) => a.name.localeCompare(b.name) || a.arch - b.arch))
  console.log(
    `| sm_${r.arch} (${SM[r.arch].name}) | ${r.name} | ${r.t} | ${r.regs} | ${r.smem} | ${r.stack} | ${r.spills} | ${r.blocks} |`,
  );
process.exit(0);
