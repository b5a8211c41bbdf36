// bench/verdicts-pr: verdicts at pull-request scale. Each trial is one pull request with 50
// metrics, each judged as one value a run against its base-branch history (15 or 30 runs), with
// gates' default config (5 % margin, alpha 0.025). Per noise model it reports how often a
// pull request with no change fails, and how often one +20 % metric among the 50 is caught —
// per metric alone (the first design), with Holm across the 50, and with Holm plus confirmation
// (a flagged metric's command re-run up to twice, every re-run a regression on its own, as
// `gpuci run` does). It also reports one value +10 % over a 30-run CV 2 % history, and the
// two-sample verdict's targets at n = 20 on the models the issue names (and how often a change of
// exactly the margin is called regressed: the claim's own error, nominally ≤ alpha).
// TRIALS=N (default 2000) trials per cell. Prints tables; exits 0.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/verdicts-pr: build first (npm run build)");
  process.exit(1);
}
const { seriesVerdict, regressionVerdict, holm, seededRandom } = await import(dist);
const TRIALS = Number(process.env.TRIALS ?? 2000);
const METRICS = 50;
const opts = { direction: "smaller", maxRegression: 0.05, alpha: 0.025, minSamples: 5 };
const rand = seededRandom(2026);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const t3 = () => {
  const z = gauss();
  let chi = 0;
  for (let i = 0; i < 3; i++) chi += gauss() ** 2;
  return z / Math.sqrt(chi / 3) / Math.sqrt(3); // unit variance
};

/**
 * Noise models: `series(n)` draws a history of n runs (time order) and `next(history)` one more
 * run after it (the pull request's run, or a confirming re-run), all at a true level of 100.
 */
const MODELS = [
  { name: "log-normal, CV 2 %", one: () => 100 * Math.exp(0.02 * gauss()) },
  { name: "log-normal, CV 5 %", one: () => 100 * Math.exp(0.05 * gauss()) },
  { name: "Student-t₃, CV 2 %", one: () => 100 * Math.exp(0.02 * t3()) },
  {
    name: "5 % outlier runs ×1.3, CV 2 %",
    one: () => 100 * Math.exp(0.02 * gauss()) * (rand() < 0.05 ? 1.3 : 1),
  },
  {
    name: "bimodal clocks (20 % +8 %), CV 1 %",
    one: () => 100 * Math.exp(0.01 * gauss()) * (rand() < 0.2 ? 1.08 : 1),
  },
  {
    name: "AR(1) drift ρ = 0.6, CV 2 %",
    ar: 0.6,
  },
  {
    name: "coarse timer (20 ticks), CV 2 %",
    one: (shift = 1) => Math.max(1, Math.round(20 * shift * Math.exp(0.02 * gauss()))),
  },
];
for (const m of MODELS) {
  // draw(shift): one run at true level × shift (a coarse timer rounds after the shift).
  if (m.name.startsWith("coarse")) m.draw = (shift = 1) => m.one(shift);
  else m.draw = (shift = 1) => m.one() * shift;
  if (m.ar) {
    // A series whose runs drift together (warming GPUs, a busy host): each value continues it.
    let x = 0;
    m.reset = () => {
      x = 0.02 * gauss();
    };
    m.one = () => {
      x = m.ar * x + Math.sqrt(1 - m.ar * m.ar) * 0.02 * gauss();
      return 100 * Math.exp(x);
    };
    m.draw = (shift = 1) => m.one() * shift;
  }
}

/** One pull request: does it fail, and is metric 0 (shifted by `shift`) caught? */
function pullRequest(model, historyLength, shift) {
  const perMetric = [];
  for (let j = 0; j < METRICS; j++) {
    model.reset?.();
    const series = Array.from({ length: historyLength }, () => model.one());
    const factor = j === 0 ? shift : 1;
    const first = model.draw(factor);
    perMetric.push({ series, first, factor, v: seriesVerdict(series, first, opts) });
  }
  const alone = perMetric.map((m) => m.v.verdict === "regressed");
  const h = holm(
    perMetric.map((m) => m.v.pMargin),
    opts.alpha,
  );
  const withHolm = perMetric.map((m, i) => m.v.verdict === "regressed" && h[i]);
  // Confirmation (as gpuci run does): a metric that still fails is re-measured, up to twice; each
  // re-run must be a regression on its own (the first that is not ends the confirmation), and
  // the verdict shown is that of the median of all the values.
  let extraRuns = 0;
  const withConfirm = perMetric.map((m, i) => {
    if (!withHolm[i]) return false;
    for (let k = 0; k < 2; k++) {
      extraRuns++;
      if (seriesVerdict(m.series, model.draw(m.factor), opts).verdict !== "regressed") return false;
    }
    return true;
  });
  return {
    alone: alone.some(Boolean),
    holm: withHolm.some(Boolean),
    confirm: withConfirm.some(Boolean),
    caught: [alone[0], withHolm[0], withConfirm[0]],
    extraRuns,
  };
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;
console.log(
  `bench/verdicts-pr: ${TRIALS} pull requests of ${METRICS} metrics per cell, margin 5 %, alpha 0.025\n`,
);
console.log(
  "| noise model | history | no change: fails (alone → Holm → + confirm) | re-runs per PR | one +20 % among 50: caught (alone → Holm → + confirm) |",
);
console.log("|---|---|---|---|---|");
for (const model of MODELS)
  for (const n of [15, 30]) {
    let a = 0;
    let b = 0;
    let c = 0;
    let runs = 0;
    const caught = [0, 0, 0];
    for (let t = 0; t < TRIALS; t++) {
      const r = pullRequest(model, n, 1);
      a += r.alone ? 1 : 0;
      b += r.holm ? 1 : 0;
      c += r.confirm ? 1 : 0;
      runs += r.extraRuns;
      const p = pullRequest(model, n, 1.2);
      p.caught.forEach((x, i) => {
        caught[i] += x ? 1 : 0;
      });
    }
    console.log(
      `| ${model.name} | ${n} | ${pct(a / TRIALS)} → ${pct(b / TRIALS)} → **${pct(c / TRIALS)}** | ${(runs / TRIALS).toFixed(2)} | ${pct(caught[0] / TRIALS)} → ${pct(caught[1] / TRIALS)} → **${pct(caught[2] / TRIALS)}** |`,
    );
  }

// One value +10 % over a 30-run CV 2 % history (the exact interval's power is about 59 %).
{
  const model = MODELS[0];
  let reg = 0;
  for (let t = 0; t < TRIALS * 5; t++) {
    const series = Array.from({ length: 30 }, () => model.one());
    if (seriesVerdict(series, model.draw(1.1), opts).verdict === "regressed") reg++;
  }
  console.log(
    `\nOne value +10 % over a 30-run CV 2 % history: regressed ${pct(reg / (TRIALS * 5))} (target ≥ 55 %)`,
  );
}

// Two samples at n = 20 a side, unpaired and paired (A/B and file baselines).
console.log(
  "\n| two samples, n = 20 a side | A/A regressed | +2 % regressed | +5 % unchanged | +5 % regressed | +10 % regressed | true +4 % regressed |",
);
console.log("|---|---|---|---|---|---|---|");
for (const model of MODELS) {
  for (const paired of [false, true]) {
    const rate = (shift, outcome) => {
      let k = 0;
      for (let t = 0; t < TRIALS; t++) {
        model.reset?.();
        const base = [];
        const head = [];
        for (let i = 0; i < 20; i++) {
          base.push(model.draw(1));
          head.push(model.draw(shift));
        }
        if (regressionVerdict(base, head, { ...opts, paired }).verdict === outcome) k++;
      }
      return k / TRIALS;
    };
    console.log(
      `| ${model.name}, ${paired ? "paired" : "unpaired"} | ${pct(rate(1, "regressed"))} | ${pct(rate(1.02, "regressed"))} | ${pct(rate(1.05, "unchanged"))} | ${pct(rate(1.05, "regressed"))} | ${pct(rate(1.1, "regressed"))} | ${pct(rate(1.04, "regressed"))} |`,
    );
  }
}
