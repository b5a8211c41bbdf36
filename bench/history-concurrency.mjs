// bench/history-concurrency: JOBS jobs (default 16, then 8) append to one git-branch store at
// the same moment, as matrix jobs on separate runners do: one bare repository as the remote,
// one clone per job, one process per job, all released at one instant. Each job appends one run
// and reports when it landed and after how many attempts (randomized backoff, retried for up to
// five minutes). Then the branch is read back: every run must be there. Also FILE_WRITERS
// processes (default 16) appending 25 runs each to one file store at once. Prints a table.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const load = loadavg();
const root = fileURLToPath(new URL("..", import.meta.url));
const gates = join(root, "packages/gates/dist/index.js");
const { fileStore, gitBranchStore } = await import(gates);
const counts = process.env.JOBS ? [Number(process.env.JOBS)] : [16, 8];
const fileWriters = Number(process.env.FILE_WRITERS ?? 16);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

/** One job: wait for the start instant, append one run, print what happened as JSON. */
const JOB = `
const { gitBranchStore, fileStore } = await import(process.env.GATES);
const [kind, dir, id, startAt, n] = process.argv.slice(1);
const entry = (k) => ({ v: 1, at: new Date().toISOString(), commit: (Number(id) * 1000 + k).toString(16).padStart(40, "0"),
  branch: "main", results: { latency: { value: 10 + Number(id) / 100, unit: "ms" } } });
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const t0 = Date.now();
if (kind === "git") {
  const r = await gitBranchStore(dir, { branch: "gpuci-data", remote: "origin" }).append(entry(0));
  const m = r.warnings.map((w) => /after (\\d+) attempts/.exec(w)).find(Boolean);
  console.log(JSON.stringify({ ms: Date.now() - t0, attempts: m ? Number(m[1]) : 1 }));
} else {
  const store = fileStore(dir, { runs: 100000 });
  for (let k = 0; k < Number(n); k++) await store.append(entry(k));
  console.log(JSON.stringify({ ms: Date.now() - t0 }));
}`;
function runJob(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", JOB, ...args], {
      env: { ...process.env, GATES: gates },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) =>
      resolve(code === 0 ? JSON.parse(out) : { error: err.trim().split("\n").pop() }),
    );
  });
}

const rows = [];
for (const jobs of counts) {
  const work = mkdtempSync(join(tmpdir(), "gpuci-bench-race-"));
  git(work, "init", "-q", "--bare", "-b", "main", join(work, "origin.git"));
  for (let j = 0; j < jobs; j++) git(work, "clone", "-q", join(work, "origin.git"), join(work, `job-${j}`));
  const startAt = Date.now() + 1500 + jobs * 100;
  const results = await Promise.all(
    Array.from({ length: jobs }, (_, j) =>
      runJob(["git", join(work, `job-${j}`), String(j), String(startAt)]),
    ),
  );
  const landed = results.filter((r) => !r.error);
  const read = await gitBranchStore(join(work, "job-0"), { branch: "gpuci-data", remote: "origin" }).read();
  const commits = new Set(read.entries.map((e) => e.commit));
  const all = Array.from({ length: jobs }, (_, j) => (j * 1000).toString(16).padStart(40, "0")).every((c) =>
    commits.has(c),
  );
  const ms = landed.map((r) => r.ms);
  const attempts = landed.map((r) => r.attempts);
  rows.push(
    `| git-branch, ${jobs} jobs (one clone each) | ${landed.length}/${jobs}${all ? "" : " (missing on the branch!)"} | ${(median(ms) / 1000).toFixed(1)} s | ${(Math.max(...ms) / 1000).toFixed(1)} s | ${median(attempts)} / ${Math.max(...attempts)} |`,
  );
  for (const r of results) if (r.error) console.error(`bench/history-concurrency: a job failed: ${r.error}`);
  rmSync(work, { recursive: true, force: true });
}
{
  const work = mkdtempSync(join(tmpdir(), "gpuci-bench-race-file-"));
  const path = join(work, "results.jsonl");
  const each = 25;
  const startAt = Date.now() + 1500;
  const results = await Promise.all(
    Array.from({ length: fileWriters }, (_, j) =>
      runJob(["file", path, String(j), String(startAt), String(each)]),
    ),
  );
  const read = await fileStore(path, { runs: 100000 }).read();
  const ms = results.filter((r) => !r.error).map((r) => r.ms);
  rows.push(
    `| file, ${fileWriters} processes × ${each} runs | ${read.entries.length}/${fileWriters * each} (${read.refused.length} refused lines) | ${(median(ms) / 1000).toFixed(1)} s | ${(Math.max(...ms) / 1000).toFixed(1)} s | — |`,
  );
  rmSync(work, { recursive: true, force: true });
}
console.log(
  `load average when it started: ${load.map((l) => l.toFixed(1)).join(", ")} (1, 5, 15 min; 2 cores)\n`,
);
console.log("writers appending to one history store at the same instant\n");
console.log("| store and writers | runs landed | time to land, median | max | attempts, median / max |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(r);
