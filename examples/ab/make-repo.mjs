// Builds a real git repository for the A/B example: on main, a small CPU benchmark; on the
// branch `pr` (checked out), a change that makes it 15 % slower (or, with --aa, a change to a
// comment only). Then `gpuci ab` in that repository compares the pull request with its base.
//   node examples/ab/make-repo.mjs [FOLDER] [--aa] [--slowdown 0.15]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { aa: { type: "boolean" }, slowdown: { type: "string", default: "0.15" } },
  allowPositionals: true,
});
const dir = resolve(positionals[0] ?? new URL("./.work/repo", import.meta.url).pathname);
if (existsSync(resolve(dir, ".git"))) {
  console.error(`make-repo: ${dir} already holds a repository; remove it or name another folder`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "gpuci example",
  GIT_AUTHOR_EMAIL: "example@gpuci.invalid",
  GIT_COMMITTER_NAME: "gpuci example",
  GIT_COMMITTER_EMAIL: "example@gpuci.invalid",
};
const git = (...args) => execFileSync("git", args, { cwd: dir, env, stdio: ["ignore", "pipe", "inherit"] });

const bench = (
  work,
  note,
) => `// A stand-in for a GPU kernel benchmark: times a fixed amount of CPU work 5 times and
// writes the median to the file named on the command line. ${note}
import { writeFileSync } from "node:fs";

const WORK = ${work};
function kernel() {
  let x = 0;
  for (let i = 0; i < WORK; i++) x = (x + Math.sqrt(i * 1.000001)) % 1e9;
  return x;
}
kernel(); // warm-up
const times = [];
for (let r = 0; r < 5; r++) {
  const t0 = process.hrtime.bigint();
  kernel();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
writeFileSync(process.argv[2], JSON.stringify({ latency_ms: times[2], unit: "ms" }));
`;
const config = `# The A/B example: gpuci ab checks out the merge base of this branch with main in a worktree
# of its own and runs bench.mjs in both trees, ABBA, until the latency is decided.
ab:
  command: node bench.mjs {out}/bench.json
  metrics:
    - { id: latency, file: "{out}/bench.json", path: latency_ms, unit: ms }
  maxRegression: 5%
  rounds: { min: 6, max: 40 }
  budget: { minutes: 5 }
history:
  baseBranch: main
`;
writeFileSync(resolve(dir, "bench.mjs"), bench(400_000, "Base version."));
writeFileSync(resolve(dir, "gpuci.yml"), config);
writeFileSync(resolve(dir, ".gitignore"), ".gpuci/\n");
git("init", "-q", "-b", "main");
git("add", ".");
git("commit", "-q", "-m", "base: the benchmark");
git("checkout", "-q", "-b", "pr");
const slowdown = Number(values.slowdown);
writeFileSync(
  resolve(dir, "bench.mjs"),
  values.aa
    ? bench(400_000, "Head version: only this comment changed.")
    : bench(Math.round(400_000 * (1 + slowdown)), `Head version: ${Math.round(slowdown * 100)} % more work.`),
);
git("commit", "-q", "-am", values.aa ? "head: a comment" : `head: ${Math.round(slowdown * 100)} % more work`);
console.log(
  `made ${dir}: main has the base benchmark, pr (checked out) ${values.aa ? "changes a comment only" : `does ${Math.round(slowdown * 100)} % more work`}`,
);
console.log(`next: npx gpuci ab -c ${dir}/gpuci.yml --out ${dir}/.gpuci`);
