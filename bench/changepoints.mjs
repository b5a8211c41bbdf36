// bench/changepoints: how gpuci's change-point detection (E-divisive means with a permutation
// test, packages/gates/src/changepoint.ts) does on generated base-branch histories of 40 runs:
// flat (false steps), a +8 % step at run 25 (detected, and at exactly run 25), a +3 % step, and
// two steps; noise CV 2 % log-normal and heavy-tailed. Prints a table; TRIALS sets the histories
// per row (default 200).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/changepoints: build first (npm run build)");
  process.exit(1);
}
const { changePoints, seededRandom } = await import(dist);
const trials = Number(process.env.TRIALS ?? 200);
const rand = seededRandom(40);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const t3 = () => {
  let chi = 0;
  for (let i = 0; i < 3; i++) chi += gauss() ** 2;
  return gauss() / Math.sqrt(chi / 3) / Math.sqrt(3);
};
const rows = [
  { name: "flat, CV 2 %", steps: [], noise: () => 0.02 * gauss() },
  { name: "+8 % at run 25, CV 2 %", steps: [[24, 1.08]], noise: () => 0.02 * gauss() },
  { name: "+3 % at run 25, CV 2 %", steps: [[24, 1.03]], noise: () => 0.02 * gauss() },
  {
    name: "+8 % at 15, −8 % at 30, CV 2 %",
    steps: [
      [14, 1.08],
      [29, 1 / 1.08],
    ],
    noise: () => 0.02 * gauss(),
  },
  { name: "flat, heavy tails (t3), CV 2 %", steps: [], noise: () => 0.02 * t3() },
  { name: "+8 % at run 25, heavy tails (t3), CV 2 %", steps: [[24, 1.08]], noise: () => 0.02 * t3() },
];
console.log(
  `gpuci change points (E-divisive, permutation p ≤ 0.01, min step 1 %), 40 runs, ${trials} histories a row\n`,
);
console.log(
  "| history | histories with any change point | every true step found | at the exact run | mean time |",
);
console.log("|---|---|---|---|---|");
for (const row of rows) {
  let any = 0;
  let all = 0;
  let exact = 0;
  let ms = 0;
  for (let t = 0; t < trials; t++) {
    let level = 1;
    const values = Array.from({ length: 40 }, (_, i) => {
      for (const [at, r] of row.steps) if (i === at) level *= r;
      return 100 * level * Math.exp(row.noise());
    });
    const t0 = performance.now();
    const found = changePoints(values);
    ms += performance.now() - t0;
    if (found.length) any++;
    const near = row.steps.every(([at]) => found.some((c) => Math.abs(c.at - at) <= 1));
    if (row.steps.length && near) all++;
    if (row.steps.length && row.steps.every(([at]) => found.some((c) => c.at === at))) exact++;
  }
  const pct = (k) => `${((100 * k) / trials).toFixed(1)} %`;
  console.log(
    `| ${row.name} | ${pct(any)} | ${row.steps.length ? pct(all) : "—"} | ${row.steps.length ? pct(exact) : "—"} | ${(ms / trials).toFixed(1)} ms |`,
  );
}
