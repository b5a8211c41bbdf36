import { UsageError } from "../errors.js";
import { VERSION } from "../version.js";

const HELP: Record<string, string> = {
  ab: `gpuci ab [-c gpuci.yml] [--base REF] [--out DIR] [--json]

Did this change make it slower? Check out the base (default: the merge base of HEAD with
history.baseBranch, or on that branch itself the previous base commit; --base overrides
ab.base, --base HEAD is an A/A) in a git worktree of its own, build both trees,
and run ab.command in counterbalanced rounds (ABBA) until every metric is decided or the
rounds or ab.budget run out. Each metric's verdict: regressed, unchanged, improved or
inconclusive, with the change head/base, its 95 % sequential interval, the rounds and the cost.
On a GPU the SM clock, temperature and power are read around every command; when the clock
moved, times and rates that follow it are judged in cycle space (ab.clocks), the wall-time
verdict shown beside. One line per round on stderr with the running estimate and the clocks.
Round results go to DIR/ab/.

Exit code: 0 unchanged, improved (or inconclusive unless ab.inconclusive: fail); 1 when a
metric regressed or the A/B could not run; 2 usage or config error.`,
  history: `gpuci history [-c gpuci.yml] [--metric ID] [--json]

Each metric's results on history.baseBranch (oldest first) with a sparkline, its noise (CV at
the current level, and the paired A/B rounds it would need for ab.maxRegression, default 5 %:
"noisy" when more than ab.rounds.max), and its change points: the commits where the level
stepped, found with E-divisive means and a permutation test (Matteson & James 2014, as Apache
Otava). --json prints everything as JSON.`,
  dashboard: `gpuci dashboard [-c gpuci.yml] [--out DIR] [--title TEXT]

Build a static site from the history store: one chart per metric (a series per GPU and
driver, in recording order), its change points named with their commits (linked when the
repository is on GitHub), the noise band of the current level, pull-request runs and the cost
per run; search and filters over the metrics, and an anchor per metric (#metric-ID) that the
pull-request comment links to when dashboard.url is set. Nothing is loaded from the network:
the chart library (uPlot) is in the folder. Open DIR/index.html or publish DIR (GitHub Pages).

  -c, --config PATH   config file (default: gpuci.yml in the current folder)
  -o, --out DIR       the site's folder (default: .gpuci/site)
      --title TEXT    the page title (default: gpuci dashboard)`,
  init: `gpuci init [--dir DIR] [--force]

Look at the project (pytest-benchmark suites, Google Benchmark sources, a Makefile bench target
for hyperfine, CUDA sources, a Python training script) and write a commented gpuci.yml and
.github/workflows/gpuci.yml that fit it, then check that gpuci.yml is valid. An existing file
is kept unless --force is given.

  -C, --dir DIR   the project folder (default: the current folder)
  -f, --force     replace gpuci.yml and the workflow when they exist`,
  run: `gpuci run [-c gpuci.yml] [--out DIR] [--quiet] [--record]

Run the configured stages in order and write DIR/report.json and DIR/report.md.
Commands' output streams live; progress goes to stderr.

  -c, --config PATH   config file (default: gpuci.yml in the current folder, else defaults)
  -o, --out DIR       output folder (default: .gpuci)
  -q, --quiet         print only the verdict line, not every finding
      --record        record the results in history even though the tree (outside CI) has
                      uncommitted changes to tracked files (otherwise judged, not recorded)

Exit code: 0 when the report is pass, warn or skip; 1 when fail or error; 2 for usage or
config errors.`,
  preflight: `gpuci preflight [-c gpuci.yml] [--json] [--local]

Check the runner before any GPU minute is spent: nvidia-smi health and inventory, driver and
CUDA toolkit compatibility (self-healing PATH), torch, files, smoke commands, exported symbols,
disk, memory, environment. Thresholds come from the preflight: section of gpuci.yml.

      --json     print the preflight Section as JSON (gpu.inventory carries data.gpus[])
      --local    the pre-GPU checklist: run everything that needs no GPU; GPU checks are skip

Exit code: 0 pass/warn, 1 fail/error, 2 usage or config error.`,
  cost: `gpuci cost watch [--rate USD] [--gpus N] [--budget USD] [--grace S] [--json] -- CMD ARGS...
gpuci cost estimate --gpu "NVIDIA L4" --minutes 30 [--gpus N]
gpuci cost ledger [--month YYYY-MM] [--pr N] [--json]

watch     run one command under the budget watchdog: it runs in its own process group; when the
          budget or time is up the group gets SIGTERM, then SIGKILL after the grace (default 30 s).
          Exits with the command's own code, 124 when the watchdog stopped it. --json prints the
          Cost section (cost.run's data has seconds, costUsd, rateUsdPerGpuHour, gpus, stopped).
estimate  price a job from the built-in table (or cost.rates in gpuci.yml).
ledger    totals from the spend ledger (.gpuci/ledger.jsonl, or cost.ledger).

All three read the cost: section of gpuci.yml (-c PATH) for rates, budgets and the ledger path.`,
  provenance: `gpuci provenance [-c gpuci.yml] [--artifacts GLOB]... [--out DIR] [--json]
gpuci provenance verify FILE [--base DIR] [--artifacts GLOB]...

Record what ran, where and on which GPU, and hash the produced files: writes
DIR/provenance.intoto.json (in-toto Statement v1, SLSA provenance v1), DIR/manifest.sha256
(sha256sum -c compatible), DIR/env.json and DIR/commands.txt (default DIR .gpuci).

verify re-hashes every file a statement or manifest names (paths relative to --base, default
the current folder) and prints OK / FAILED / MISSING / ADDED per file; exit 1 on any but OK.`,
  gates: `gpuci gates [-c gpuci.yml] [--json] [--record]

Evaluate the gates: section against the files the run produced: thresholds (min, max, equals,
range), NaN policy, parity of two numeric artifacts, and regression verdicts against a same-job
base build or the history store (regressed / unchanged / improved / inconclusive, with the
change and its 95 % interval). --json prints the Section;
each finding's data carries value and, where set, threshold. Results go to the history store
(one entry per commit, runner, GPU and config: a re-run replaces); a local run whose tracked
files have uncommitted changes is judged but not recorded unless --record is given.`,
  kernels: `gpuci kernels [-c gpuci.yml] [--backend napi|webgpu|all] [--kernel NAME] [--json] [--csv FILE]

Check GPU kernels for correctness against float64 references (5 trials, fresh seeded inputs,
outputs poisoned with NaN; or once against your reference files), then time the correct ones.
Backends: napi-cpu (C++), napi-cuda (CUDA compiled by NVRTC, where a driver exists) and webgpu
(dawn.node: Vulkan, else OpenGL ES; a software GPU on CPU machines, labelled as such). f32 and
f16. Without a GPU your own CUDA sources are still compiled by NVRTC (GPUCI_NVRTC names
libnvrtc.so) and run in gpuci's CUDA emulator on the CPU (correctness only, never timed), so a
kernel that does not compile or computes the wrong thing fails. Without a kernels: section the
whole catalog runs
(vector-add, matmul, softmax, layernorm, attention).`,
  render: `gpuci render REPORT.json [--format comment|summary|text] [--id ID] [--out FILE]

Render a report.json as the pull-request comment, the job summary, or terminal text.

  -f, --format FORMAT  comment, summary or text (default: text)
      --id ID          comment id (keeps several gpuci comments apart; default "default")
  -o, --out FILE       write to FILE instead of stdout`,
  aggregate: `gpuci aggregate REPORT.json... --out DIR [--key NAME=REPORT.json]

Merge several report.json files (matrix jobs on several runners) into one report, each part
labelled by its runner key (from the report, else the folder name). Writes DIR/report.json
and DIR/report.md. Exit code follows the merged status.

  -o, --out DIR       output folder (required)`,
  help: `gpuci help [VERB]

Show the list of commands, or one command's options.`,
};

const OVERVIEW = `gpuci ${VERSION}: keep GPU work honest in CI.

Usage: gpuci <command> [options]

Commands:
  run         run preflight, commands, kernels and gates from gpuci.yml; write report.json/report.md
  preflight   check the GPU runner (driver, CUDA, GPUs, files, symbols) before GPU work
  cost        price and watch GPU work: cost watch -- CMD, cost estimate, cost ledger
  provenance  record git/CI/host/GPU/toolchain facts and artifact digests; verify them later
  ab          base against head in one job: regressed, unchanged, improved or inconclusive
  history     each metric's base-branch series, noise and change points (the commits where it stepped)
  dashboard   the history store as a static site: a chart per metric, change points, noise, cost
  gates       judge the numbers: thresholds, parity, regressions against baselines
  kernels     check kernels (napi C++/CUDA, WebGPU) against references, then time them
  render      render a report.json as a PR comment, job summary, or terminal text
  aggregate   merge report.json files from several runners into one
  init        write a gpuci.yml and a GitHub workflow for the project found here
  help        show help for a command

  gpuci --version     print the version
  gpuci help VERB     options of one command

Docs: README.md in the gpuci repository.`;

/** `gpuci help [VERB]`. */
export async function main(argv: string[]): Promise<number> {
  const [verb] = argv;
  if (!verb) {
    process.stdout.write(`${OVERVIEW}\n`);
    return 0;
  }
  const text = HELP[verb];
  if (!text)
    throw new UsageError(`no help for "${verb}": it is not a gpuci command. Run "gpuci help" for the list.`);
  process.stdout.write(`${text}\n`);
  return 0;
}
