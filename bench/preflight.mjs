// bench/preflight: whole-process time of `gpuci preflight` with the default checks and a fake
// nvidia-smi replaying a recorded two-GPU capture; median of 20 runs. Target: ≤ 300 ms.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;
if (!existsSync(bin)) {
  console.error("bench/preflight: build first (npm run build)");
  process.exit(1);
}
const env = {
  ...process.env,
  PATH: `${root}packages/preflight/test/fake-bin:${process.env.PATH}`,
  FAKE_NVIDIA_SMI_XML: `${root}packages/preflight/test/fixtures/l4-x2-driver-555.xml`,
};
const runs = Number(process.env.RUNS ?? 20);
const times = [];
let checks = 0;
for (let i = 0; i <= runs; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, "preflight", "--json"], { env, encoding: "utf8", cwd: root });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status === null || r.status > 1) throw new Error(`gpuci preflight exited ${r.status}: ${r.stderr}`);
  checks = JSON.parse(r.stdout).findings.length;
  if (i > 0) times.push(ms); // the first run warms the file cache
}
times.sort((a, b) => a - b);
const median = times[times.length >> 1];
console.log(`gpuci preflight (default checks, fake nvidia-smi, ${checks} findings), ${runs} runs\n`);
console.log("| statistic | ms |");
console.log("|-----------|----|");
console.log(`| min       | ${times[0].toFixed(0)} |`);
console.log(`| median    | ${median.toFixed(0)} |`);
console.log(`| max       | ${times[times.length - 1].toFixed(0)} |`);
console.log(`\ntarget: median <= 300 ms: ${median <= 300 ? "met" : "NOT met"}`);
