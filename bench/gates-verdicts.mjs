// bench/gates-verdicts: how often the default regression verdict raises a false alarm on an A/A
// comparison, and how often it detects a 5 % slowdown:
//  (a) simulated log-normal timings, CV 3 %, n = 10, 20, 30 per side;
//  (b) real repeated timings of a CPU workload on this machine, with a real 5 % slowdown
//      (5 % more work), subsampled into n = 20 per side.
// Also shown: the naive rule "median ratio > threshold" instead of the interval rule gpuci uses.
// Targets (n = 20): false alarms <= 1 %, detection >= 95 %.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/gates-verdicts: build first (npm run build)");
  process.exit(1);
}
const { regressionVerdict, seededRandom, mannWhitneyGreater, median } = await import(dist);
const trials = Number(process.env.TRIALS ?? 1000);
const opts = {
  direction: "smaller",
  maxRegression: 0.05,
  alpha: 0.01,
  minSamples: 5,
  bootstrapIterations: 1000,
};
const rand = seededRandom(2026);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const lognormal = (n, scale, cv) => Array.from({ length: n }, () => scale * Math.exp(cv * gauss()));

function rates(draw, n) {
  let aa = 0,
    ab = 0,
    naiveAa = 0,
    naiveAb = 0;
  for (let t = 0; t < trials; t++) {
    const base = draw("base", n);
    const same = draw("base", n);
    const slow = draw("slow", n);
    if (regressionVerdict(base, same, opts).regression) aa++;
    if (regressionVerdict(base, slow, opts).regression) ab++;
    const naive = (b, h) =>
      mannWhitneyGreater(h, b).p < opts.alpha && median(h) / median(b) > 1 + opts.maxRegression;
    if (naive(base, same)) naiveAa++;
    if (naive(base, slow)) naiveAb++;
  }
  return { aa: aa / trials, ab: ab / trials, naiveAa: naiveAa / trials, naiveAb: naiveAb / trials };
}

const rows = [];
for (const n of [10, 20, 30]) {
  rows.push({
    source: `simulated log-normal, CV 3 %`,
    n,
    ...rates((kind, k) => lognormal(k, kind === "slow" ? 105 : 100, 0.03), n),
  });
}

// (b) Real timings: a fixed CPU workload, and the same with 5 % more iterations, interleaved.
function workload(iterations) {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x + Math.sqrt(i * 1.000001)) % 1e9;
  return x;
}
const N = 2_000_000;
workload(N); // warm-up (JIT)
const pool = { base: [], slow: [] };
const poolSize = Number(process.env.POOL ?? 400);
let sink = 0;
for (let i = 0; i < poolSize; i++) {
  for (const [kind, iters] of [
    ["base", N],
    ["slow", Math.round(N * 1.05)],
  ]) {
    const t0 = process.hrtime.bigint();
    sink += workload(iters);
    pool[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const pick = (arr, n) => Array.from({ length: n }, () => arr[Math.floor(rand() * arr.length)]);
const cv = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) / m;
};
rows.push({
  source: `real CPU timings (${poolSize} a side, CV ${(cv(pool.base) * 100).toFixed(1)} %, true ratio ${(median(pool.slow) / median(pool.base)).toFixed(3)})`,
  n: 20,
  ...rates((kind, k) => pick(pool[kind], k), 20),
});

console.log(
  `gates-verdicts: ${trials} trials per row; verdict = Mann-Whitney p < ${opts.alpha} AND a slowdown >= ${opts.maxRegression * 100} % within the bootstrap 95 % interval\n`,
);
console.log(
  "| data | n per side | A/A false alarms | 5 % slowdown detected | naive rule: false alarms | naive rule: detected |",
);
console.log("|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.source} | ${r.n} | ${(r.aa * 100).toFixed(1)} % | ${(r.ab * 100).toFixed(1)} % | ${(r.naiveAa * 100).toFixed(1)} % | ${(r.naiveAb * 100).toFixed(1)} % |`,
  );
const sim20 = rows.find((r) => r.n === 20 && r.source.startsWith("simulated"));
console.log(
  `\ntargets at n = 20 (simulated): false alarms <= 1 %: ${sim20.aa <= 0.01 ? "met" : "NOT met"}; detection >= 95 %: ${sim20.ab >= 0.95 ? "met" : "NOT met"}`,
);
if (sink === 42) console.log("");
