// bench/ab: gpuci ab end to end on this machine: a real git repository (examples/ab/make-repo.mjs)
// whose head does 10 % more CPU work, and one whose head changes a comment only (A/A), each
// judged REPEATS times (default 5) by the built `gpuci ab --json`. Prints each run's verdict,
// change and interval, rounds and seconds. Timings are real, on a shared 2-core machine.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
if (!existsSync(bin)) {
  console.error("bench/ab: build first (npm run build)");
  process.exit(1);
}
const repeats = Number(process.env.REPEATS ?? 5);
const rows = [];
for (const [label, args] of [
  ["+10 % work", ["--slowdown", "0.10"]],
  ["A/A (comment only)", ["--aa"]],
]) {
  const dir = join(mkdtempSync(join(tmpdir(), "gpuci-bench-ab-")), "repo");
  execFileSync(process.execPath, [join(root, "examples/ab/make-repo.mjs"), dir, ...args], {
    stdio: "ignore",
  });
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [bin, "ab", "-c", join(dir, "gpuci.yml"), "--out", join(dir, ".gpuci"), "--json"],
      {
        encoding: "utf8",
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    const section = JSON.parse(r.stdout);
    const f = section.findings.find((x) => x.id === "ab.latency");
    const d = f?.data ?? {};
    const pct = (x) => `${x >= 1 ? "+" : ""}${((x - 1) * 100).toFixed(1)} %`;
    rows.push(
      `| ${label} | ${d.verdict ?? section.findings[0]?.summary} | ${d.ratio ? pct(d.ratio) : ""} | ${d.ci ? `[${pct(d.ci.low)}, ${pct(d.ci.high)}]` : ""} | ${d.rounds ?? ""} | ${seconds.toFixed(1)} s | ${r.status} |`,
    );
  }
  rmSync(join(dir, ".."), { recursive: true, force: true });
}
console.log(`gpuci ab end to end, ${repeats} runs each (margin 5 %, rounds 5–40, ABBA):\n`);
console.log("| head | verdict | change | interval | rounds | wall time | exit |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
