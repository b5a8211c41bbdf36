// bench/dashboard: `gpuci dashboard` on a history of RUNS runs (default 10,000) × METRICS metrics
// (default 50; half with 20 samples, as history-size stores them), two GPUs, 10 % pull-request
// runs, every run priced: the build's wall time (the CLI end to end, median and max of 3), the
// site's size, and in headless Chromium (Debian's chromium via playwright-core) the time from
// navigation until the page is interactive (charts in view drawn, handlers attached) and until a
// hover shows a run's commit. Beside it, github-action-benchmark's one-file approach on the same
// data: its data.js (`window.BENCHMARK_DATA = ` + JSON.stringify(data, null, 2), as its
// src/write.ts writes it) and the time Chromium takes to evaluate it. Targets: build ≤ 5 s,
// site ≤ 30 MB, interactive ≤ 2 s.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const load = loadavg();
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
if (!existsSync(bin)) {
  console.error("bench/dashboard: build first (npm run build)");
  process.exit(1);
}
const { compactEntry, seededRandom } = await import(join(root, "packages/gates/dist/index.js"));
const runs = Number(process.env.RUNS ?? 10_000);
const metrics = Number(process.env.METRICS ?? 50);
const CHROMIUM =
  process.env.CHROMIUM ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p)) ??
  "/usr/bin/chromium";
const rand = seededRandom(31);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const sha = (i) => createHash("sha1").update(`bench ${i}`).digest("hex");
const work = mkdtempSync(join(tmpdir(), "gpuci-bench-dashboard-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const du = (dir) => readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);

// The store as the file store holds it after RUNS appends (shards of 100, newest in results.jsonl).
const entries = [];
for (let i = 0; i < runs; i++) {
  const h100 = i % 4 !== 3;
  const pr = i % 10 === 7;
  entries.push(
    compactEntry({
      v: 1,
      at: new Date(Date.UTC(2026, 0, 1) + i * 600_000).toISOString(),
      commit: sha(i),
      ...(pr ? { branch: "feature", pr: 100 + (i % 50) } : { branch: "main" }),
      runner: "gpu-runner-3",
      gpu: h100 ? "NVIDIA H100 80GB HBM3" : "NVIDIA L4",
      driver: "550.54.15",
      costUsd: Number(((h100 ? 0.42 : 0.11) * Math.exp(0.05 * gauss())).toFixed(4)),
      results: Object.fromEntries(
        Array.from({ length: metrics }, (_, m) => {
          const level = (10 + m) * (h100 ? 1 : 3) * (m % 5 === 0 && i > runs * 0.7 ? 1.08 : 1);
          return [
            `metric-${m}`,
            {
              value: level * Math.exp(0.02 * gauss()),
              unit: "ms",
              ...(m % 2
                ? { samples: Array.from({ length: 100 }, () => level * Math.exp(0.03 * gauss())) }
                : {}),
              status: "pass",
            },
          ];
        }),
      ),
    }),
  );
}
const hist = join(work, ".gpuci/history");
mkdirSync(hist, { recursive: true });
for (let s = 0; s * 100 < runs; s++) {
  const newest = runs - s * 100;
  const lines = entries.slice(Math.max(0, newest - 100), newest).map((e) => JSON.stringify(e));
  writeFileSync(join(hist, s === 0 ? "results.jsonl" : `results.${s}.jsonl`), `${lines.join("\n")}\n`);
}
writeFileSync(join(work, "gpuci.yml"), `history: { baseBranch: main, keep: { runs: ${runs} } }\n`);
execFileSync("git", ["init", "-q", "-b", "main"], { cwd: work });
execFileSync("git", ["remote", "add", "origin", "https://github.com/acme/kernels.git"], { cwd: work });
const storeBytes = du(hist);

const builds = [];
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, "dashboard", "--out", "site"], { cwd: work, encoding: "utf8" });
  builds.push((performance.now() - t0) / 1000);
  if (r.status !== 0) throw new Error(`gpuci dashboard failed: ${r.stderr}`);
  if (k === 0) console.error(r.stdout.trim());
}
const site = join(work, "site");
const siteBytes = du(site);
const dataBytes = statSync(join(site, "data.js")).size;

// github-action-benchmark's data.js for the same runs (base-branch runs; one suite, 50 benches a run).
const gab = {
  lastUpdate: Date.now(),
  repoUrl: "https://github.com/acme/kernels",
  entries: {
    Benchmark: entries
      .filter((e) => e.branch === "main")
      .map((e) => ({
        commit: {
          author: { email: "dev@acme.dev", name: "A Developer", username: "adev" },
          committer: { email: "noreply@github.com", name: "GitHub", username: "web-flow" },
          distinct: true,
          id: e.commit,
          message: "Tune the attention kernel's tiling",
          timestamp: e.at,
          tree_id: sha(`tree ${e.commit}`),
          url: `https://github.com/acme/kernels/commit/${e.commit}`,
        },
        date: Date.parse(e.at),
        tool: "customSmallerIsBetter",
        benches: Object.entries(e.results).map(([name, r]) => ({ name, value: r.value, unit: r.unit })),
      })),
  },
};
const gabDir = join(work, "gab");
mkdirSync(gabDir);
writeFileSync(join(gabDir, "data.js"), `window.BENCHMARK_DATA = ${JSON.stringify(gab, null, 2)}`);
writeFileSync(
  join(gabDir, "index.html"),
  '<!doctype html><script>performance.mark("s")</script><script src="data.js"></script><script>performance.mark("e");document.title=String(performance.measure("m","s","e").duration)</script>',
);
const gabBytes = statSync(join(gabDir, "data.js")).size;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const interactive = [];
const hover = [];
const gabEval = [];
try {
  for (let k = 0; k < 3; k++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${site}/index.html`);
    await page.waitForSelector("html[data-ready=true]", { timeout: 60_000 });
    // The page marks the moment it is interactive (first charts drawn, handlers attached).
    interactive.push(await page.evaluate(() => performance.getEntriesByName("gpuci ready")[0].startTime));
    const over = page.locator("section.metric .u-over").first();
    const box = await over.boundingBox();
    const before = await page.evaluate(() => performance.now());
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.waitForFunction(() =>
      /^run \d+ · /.test(document.querySelector("section.metric .tip")?.textContent ?? ""),
    );
    hover.push((await page.evaluate(() => performance.now())) - before);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    await page.close();
    const g = await browser.newPage();
    await g.goto(`file://${gabDir}/index.html`);
    gabEval.push(Number(await g.title()));
    await g.close();
  }
} finally {
  await browser.close();
}
const base = entries.filter((e) => e.branch === "main").length;
console.log(
  `gpuci dashboard: ${runs.toLocaleString("en-US")} runs (${base.toLocaleString("en-US")} on main) × ${metrics} metrics, store ${mb(storeBytes)} in ${Math.ceil(runs / 100)} shards\n`,
);
console.log(
  `load average when it started: ${load.map((l) => l.toFixed(1)).join(", ")} (1, 5, 15 min; 2 cores)\n`,
);
console.log("| measure | median | max | target |");
console.log("|---|---|---|---|");
console.log(
  `| build (gpuci dashboard, end to end) | ${median(builds).toFixed(2)} s | ${Math.max(...builds).toFixed(2)} s | ≤ 5 s |`,
);
console.log(`| site size | ${mb(siteBytes)} (data.js ${mb(dataBytes)}) | — | ≤ 30 MB |`);
console.log(
  `| interactive in headless Chromium (navigation → charts in view drawn) | ${(median(interactive) / 1000).toFixed(2)} s | ${(Math.max(...interactive) / 1000).toFixed(2)} s | ≤ 2 s |`,
);
console.log(
  `| hover → the run's commit shown | ${median(hover).toFixed(0)} ms | ${Math.max(...hover).toFixed(0)} ms | — |`,
);
console.log(
  `\ngithub-action-benchmark's one file for the same ${base.toLocaleString("en-US")} base-branch runs × ${metrics} benches: data.js ${mb(gabBytes)}; Chromium evaluates it in ${(median(gabEval) / 1000).toFixed(2)} s (median of 3; its page then draws every chart with Chart.js, which loads from a CDN and was not measured here).`,
);
if (process.env.KEEP) console.error(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
