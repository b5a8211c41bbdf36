// bench/history-size: how big the history stores get after RUNS runs (default 10,000) of 50
// metrics each, half of them with 20 samples: the file store on disk, and the git-branch store
// in .git (packed as it goes; and after a final git gc). Target: ≤ 20 MB each. RUNS and METRICS
// override the sizes; STORES=file (or git) measures one store. Takes minutes: the git store runs
// nine git commands per append.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
const { fileStore, gitBranchStore, seededRandom } = await import(dist);
const runs = Number(process.env.RUNS ?? 10_000);
const metrics = Number(process.env.METRICS ?? 50);
const rand = seededRandom(10);
const entry = (i) => ({
  v: 1,
  at: new Date(Date.UTC(2026, 0, 1) + i * 600_000).toISOString(),
  commit: (0x1000000 + i).toString(16).padStart(40, "a"),
  branch: "main",
  runner: "gpu-runner-3",
  gpu: "NVIDIA H100 80GB HBM3",
  driver: "550.54.15",
  results: Object.fromEntries(
    Array.from({ length: metrics }, (_, m) => [
      `metric-${m}`,
      {
        value: 10 + m + rand(),
        unit: "ms",
        ...(m % 2 ? { samples: Array.from({ length: 100 }, () => 10 + m + rand()) } : {}),
        status: "pass",
      },
    ]),
  ),
});
const du = (dir) => {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
};
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const rows = [];
const stores = (process.env.STORES ?? "file,git").split(",");

if (stores.includes("file")) {
  const fileDir = mkdtempSync(join(tmpdir(), "gpuci-hist-file-"));
  const fs = fileStore(join(fileDir, "results.jsonl"));
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fs.append(entry(i));
  const fileSecs = (performance.now() - t0) / 1000;
  const kept = (await fs.read()).entries.length;
  // What retention left on disk (every shard's lines), not only what a read returns.
  let onDisk = 0;
  for (const name of readdirSync(fileDir))
    if (name.includes("results"))
      onDisk += readFileSync(join(fileDir, name), "utf8").split("\n").filter(Boolean).length;
  rows.push(
    `| file | ${runs.toLocaleString("en-US")} | ${kept} read (${onDisk} on disk) | ${mb(du(fileDir))} on disk | — | ${fileSecs.toFixed(0)} s |`,
  );
}

if (stores.includes("git")) {
  const repo = mkdtempSync(join(tmpdir(), "gpuci-hist-git-"));
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
  const gs = gitBranchStore(repo, { branch: "gpuci-data" });
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    await gs.append(entry(i));
    if ((i + 1) % 1000 === 0)
      console.error(`bench/history-size: git store ${i + 1}/${runs} (.git ${mb(du(join(repo, ".git")))})`);
  }
  const gitSecs = (performance.now() - t0) / 1000;
  const asItGoes = du(join(repo, ".git"));
  execFileSync("git", ["gc", "--quiet", "--prune=now"], { cwd: repo });
  const afterGc = du(join(repo, ".git"));
  rows.push(
    `| git-branch | ${runs.toLocaleString("en-US")} | ${(await gs.read()).entries.length} | ${mb(asItGoes)} in .git | ${mb(afterGc)} | ${gitSecs.toFixed(0)} s |`,
  );
}
console.log(
  `history stores after ${runs.toLocaleString("en-US")} runs × ${metrics} metrics (half with 100 samples, kept: 20), default retention (keep.runs 2000):\n`,
);
console.log("| store | runs appended | runs kept | size | after git gc | time |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
