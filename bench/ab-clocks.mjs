// bench/ab-clocks: the clock-aware A/B (clockSpace in packages/ab/src/clocks.ts, as runAb uses it)
// against judging wall time, on simulated rounds of a GPU whose SM clock changes between
// commands. Each trial draws 20 paired rounds (one look, the paired verdict at alpha 0.025,
// margin 5 %, smaller is better) and both ways judge the same values. Per command the clock is
// the H200's boost (1980 MHz) or a throttled state; a compute-bound kernel's time is cycles /
// clock, a memory-bound one's does not follow the clock. Noise: log-normal per command.
// Targets (issue #22, "A/B and file baselines"): A/A regressed ≤ 1 %, +2 % regressed ≤ 5 %,
// +5 % called unchanged ≤ 5 %, +10 % regressed ≥ 95 % on every model where it is possible.
// TRIALS=N sets the trials per cell (default 1000).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = (p) => fileURLToPath(new URL(`../packages/${p}/dist/index.js`, import.meta.url));
if (!existsSync(dist("ab")) || !existsSync(dist("gates"))) {
  console.error("bench/ab-clocks: build first (npm run build)");
  process.exit(1);
}
const { clockSpace } = await import(dist("ab"));
const { regressionVerdict, seededRandom } = await import(dist("gates"));
const trials = Number(process.env.TRIALS ?? 1000);
const N = 20;
const rand = seededRandom(4);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

const BOOST = 1980;
/** Clock models: the SM clock of one command (side, round). */
const clockModels = {
  steady: () => BOOST,
  "20 % of commands at −15 %": () => (rand() < 0.2 ? BOOST * 0.85 : BOOST),
  "thermal drift: 1980 → 1700 MHz over the job, ±2 % jitter": (round) =>
    (BOOST - (280 * round) / (N - 1)) * (1 + 0.02 * (rand() - 0.5)),
};
const models = [
  { name: "compute-bound, steady clock, CV 2 %", clock: "steady", follows: 1, cv: 0.02 },
  {
    name: "compute-bound, 20 % of commands at −15 % clock, CV 1 %",
    clock: "20 % of commands at −15 %",
    follows: 1,
    cv: 0.01,
  },
  {
    name: "compute-bound, 20 % of commands at −15 % clock, CV 2 %",
    clock: "20 % of commands at −15 %",
    follows: 1,
    cv: 0.02,
  },
  {
    name: "compute-bound, thermal drift with jitter, CV 1 %",
    clock: "thermal drift: 1980 → 1700 MHz over the job, ±2 % jitter",
    follows: 1,
    cv: 0.01,
  },
  {
    name: "memory-bound, 20 % of commands at −15 % clock, CV 1 %",
    clock: "20 % of commands at −15 %",
    follows: 0,
    cv: 0.01,
  },
  {
    name: "half compute-bound (elasticity −0.5), 20 % at −15 %, CV 1 %",
    clock: "20 % of commands at −15 %",
    follows: 0.5,
    cv: 0.01,
  },
];
const changes = [
  { name: "A/A regressed", shift: 1, count: (v) => v === "regressed" },
  { name: "+2 % regressed", shift: 1.02, count: (v) => v === "regressed" },
  { name: "+5 % unchanged", shift: 1.05, count: (v) => v === "unchanged" },
  { name: "+10 % regressed", shift: 1.1, count: (v) => v === "regressed" },
];

function trial(model, shift) {
  const base = [];
  const head = [];
  const baseMHz = [];
  const headMHz = [];
  for (let r = 0; r < N; r++) {
    for (const side of ["base", "head"]) {
      const mhz = clockModels[model.clock](r);
      const work = side === "head" ? shift : 1;
      const value = 1e-3 * work * (BOOST / mhz) ** model.follows * Math.exp(model.cv * gauss());
      (side === "base" ? base : head).push(value);
      (side === "base" ? baseMHz : headMHz).push(mhz);
    }
  }
  const opts = { direction: "smaller", maxRegression: 0.05, alpha: 0.025, paired: true, minSamples: 6 };
  const wall = regressionVerdict(base, head, opts).verdict;
  const space = clockSpace({ base, head, baseMHz, headMHz, unit: "s", mode: "auto", tolerance: 0.01 });
  const aware = regressionVerdict(space.base, space.head, opts).verdict;
  return { wall, aware, space: space.space };
}

console.log(`bench/ab-clocks: ${trials} trials per cell, ${N} paired rounds, margin 5 %, alpha 0.025\n`);
console.log(`| model | judged | ${changes.map((c) => c.name).join(" | ")} | space chosen (A/A) |`);
console.log(`|---|---|${changes.map(() => "---|").join("")}---|`);
for (const model of models) {
  const counts = { wall: changes.map(() => 0), aware: changes.map(() => 0) };
  const spaces = {};
  changes.forEach((c, ci) => {
    for (let t = 0; t < trials; t++) {
      const r = trial(model, c.shift);
      if (c.count(r.wall)) counts.wall[ci]++;
      if (c.count(r.aware)) counts.aware[ci]++;
      if (ci === 0) spaces[r.space] = (spaces[r.space] ?? 0) + 1;
    }
  });
  const pct = (k) => `${((100 * k) / trials).toFixed(1)} %`;
  const chosen = Object.entries(spaces)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(", ");
  console.log(`| ${model.name} | wall time | ${counts.wall.map(pct).join(" | ")} | |`);
  console.log(`| ${model.name} | clock-aware (auto) | ${counts.aware.map(pct).join(" | ")} | ${chosen} |`);
}

// A change that draws more power: head's clock is 8 % lower in every command (base at boost), the
// work the same. Its users see it 8.7 % slower: that must stay a regression, not be normalised away.
{
  let wall = 0;
  let aware = 0;
  for (let t = 0; t < trials; t++) {
    const base = [];
    const head = [];
    const baseMHz = [];
    const headMHz = [];
    for (let r = 0; r < N; r++) {
      const b = BOOST * (1 + 0.004 * (rand() - 0.5));
      const h = BOOST * 0.92 * (1 + 0.004 * (rand() - 0.5));
      baseMHz.push(b);
      headMHz.push(h);
      base.push(1e-3 * (BOOST / b) * Math.exp(0.01 * gauss()));
      head.push(1e-3 * (BOOST / h) * Math.exp(0.01 * gauss()));
    }
    const opts = { direction: "smaller", maxRegression: 0.05, alpha: 0.025, paired: true, minSamples: 6 };
    if (regressionVerdict(base, head, opts).verdict === "regressed") wall++;
    const s = clockSpace({ base, head, baseMHz, headMHz, unit: "s", mode: "auto", tolerance: 0.01 });
    if (regressionVerdict(s.base, s.head, opts).verdict === "regressed") aware++;
  }
  const pct = (k) => `${((100 * k) / trials).toFixed(1)} %`;
  console.log(
    `\nhead throttled by its own power draw (clock −8 % in every round, wall +8.7 %, CV 1 %): regressed — wall time ${pct(wall)}, clock-aware ${pct(aware)}`,
  );
}
