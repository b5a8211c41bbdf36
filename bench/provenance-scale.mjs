// bench/provenance-scale: the whole `gpuci provenance` (glob, lstat, hashing, the one redaction,
// the statement and the manifest) against sha256sum on the same files, and `gpuci provenance
// verify` against `sha256sum -c`, side by side in one run. Each is a real process, timed from
// start to exit, page cache warm, median of RUNS runs (interleaved).
//   (a) FILES small artifacts (100,000 × 64 B): target gpuci ≤ 2× sha256sum's time.
//   (b) VERIFY_FILES × 128 KiB (2,000): target gpuci verify ≥ 3× sha256sum -c's rate.
// Environment: FILES, VERIFY_FILES, RUNS, BENCH_DIR. A secret-named variable is set, as on a CI
// runner, so the redaction has secrets (and their encodings) to look for.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../packages/cli/dist/bin.js", import.meta.url));
if (!existsSync(bin)) {
  console.error("bench/provenance-scale: build first (npm run build)");
  process.exit(1);
}
const files = Number(process.env.FILES ?? 100_000);
const verifyFiles = Number(process.env.VERIFY_FILES ?? 2000);
const runs = Number(process.env.RUNS ?? 3);
const root = join(process.env.BENCH_DIR ?? tmpdir(), `gpuci-prov-bench-${process.pid}`);
const env = {
  ...process.env,
  NO_COLOR: "1",
  // What a runner's environment holds: a few secrets of realistic sizes.
  GITHUB_TOKEN: `ghs_${randomBytes(18).toString("hex")}`,
  ACTIONS_RUNTIME_TOKEN: `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(600).toString("base64url")}.sig`,
  HF_TOKEN: `hf_${randomBytes(17).toString("hex")}`,
};

// (a) many small files, 1,000 to a folder.
const small = join(root, "small");
for (let i = 0; i < files; i++) {
  const dir = join(small, "artifacts", `d${Math.floor(i / 1000)}`);
  if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `f${i}.bin`), randomBytes(64));
}
writeFileSync(join(small, "gpuci.yml"), 'provenance:\n  artifacts: ["artifacts/**"]\n');
// The same command with no artifacts: what recording the run's facts costs (git, toolchain probes).
const none = join(root, "none");
mkdirSync(none, { recursive: true });
writeFileSync(join(none, "gpuci.yml"), "provenance:\n  artifacts: []\n");
// (b) 2,000 files of 128 KiB and their manifest, written by sha256sum itself.
const big = join(root, "big");
mkdirSync(join(big, "out"), { recursive: true });
for (let i = 0; i < verifyFiles; i++) writeFileSync(join(big, "out", `f${i}.bin`), randomBytes(128 * 1024));

const sh = (cmd, cwd) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("sh", ["-c", cmd], {
    cwd,
    env,
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 1 << 28,
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.toString().slice(-500)}`);
  return s;
};
sh("find out -type f | sort | xargs sha256sum > manifest.sha256", big);
// Warm the page cache.
sh("find . -type f | xargs cat > /dev/null", root);

const cases = {
  "gpuci provenance (no artifacts: the fixed cost)": () =>
    sh(`node ${JSON.stringify(bin)} provenance --out .gpuci --json`, none),
  "gpuci provenance (100k)": () => sh(`node ${JSON.stringify(bin)} provenance --out .gpuci --json`, small),
  "sha256sum (100k)": () => sh("find artifacts -type f -print0 | xargs -0 sha256sum > /dev/null", small),
  "gpuci provenance verify (2,000 × 128 KiB)": () =>
    sh(`node ${JSON.stringify(bin)} provenance verify manifest.sha256 > /dev/null`, big),
  "sha256sum -c (2,000 × 128 KiB)": () => sh("sha256sum -c --quiet manifest.sha256", big),
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < runs; r++) for (const [name, run] of Object.entries(cases)) times[name].push(run());
rmSync(root, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
console.log(
  `provenance at scale: ${files} × 64 B and ${verifyFiles} × 128 KiB, ${availableParallelism()} cores, node ${process.version}, median of ${runs}\n`,
);
console.log("| command | seconds (median) | all runs |");
console.log("|---|---|---|");
for (const [k, v] of Object.entries(times))
  console.log(`| ${k} | ${m[k].toFixed(2)} | ${v.map((x) => x.toFixed(2)).join(", ")} |`);
const a = m["gpuci provenance (100k)"] / m["sha256sum (100k)"];
const b = m["sha256sum -c (2,000 × 128 KiB)"] / m["gpuci provenance verify (2,000 × 128 KiB)"];
console.log(
  `\n(a) gpuci provenance takes ${a.toFixed(2)}× sha256sum's time (target ≤ 2×): ${a <= 2 ? "met" : "NOT met"}`,
);
console.log(
  `(b) gpuci provenance verify runs at ${b.toFixed(2)}× sha256sum -c's rate (target ≥ 3×): ${b >= 3 ? "met" : "NOT met"}`,
);
