// bench/ab-sequential: the A/B's sequential design (sequentialPlan in
// packages/gates/src/verdict.ts, used by packages/ab/src/run.ts) against the design it replaced
// (looks from rounds.min growing by a quarter, each at alpha / looks: Bonferroni spending), on the
// same simulated rounds: for each trial 40 paired rounds are drawn once and both designs read
// them look by look, so the rounds each needs and the verdicts they reach compare within one run.
// Margin 5 %, alpha 0.025 (95 %), rounds 5/6–40, smaller is better.
// Target (issue #22): at CV 4 % at least 10 % fewer rounds on average over A/A, +2 % and +10 %
// (the same number of trials each), with error
// rates no worse: A/A regressed ≤ 1 %, +2 % regressed ≤ 2.5 %, +10 % regressed ≥ 95 %.
// TRIALS=N sets the trials per cell (default 1000).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/ab-sequential: build first (npm run build)");
  process.exit(1);
}
const { regressionVerdict, sequentialLooks, sequentialPlan, seededRandom } = await import(dist);
const trials = Number(process.env.TRIALS ?? 1000);
const MARGIN = 0.05;
const ALPHA = 0.025;
const MAX = 40;
const rand = seededRandom(22);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const studentT3 = () => {
  const z = gauss();
  let chi = 0;
  for (let i = 0; i < 3; i++) chi += gauss() ** 2;
  return z / Math.sqrt(chi / 3);
};
const ar1 = (n, rho, sd) => {
  const out = new Array(n);
  let x = gauss() * sd;
  for (let i = 0; i < n; i++) {
    out[i] = x;
    x = rho * x + Math.sqrt(1 - rho * rho) * sd * gauss();
  }
  return out;
};
const iid = (n, f) => Array.from({ length: n }, (_, i) => f(i));

// Log-noise of each side's value per round.
const MODELS = [
  {
    name: "log-normal, CV 4 %",
    draw: (n) => ({ base: iid(n, () => 0.04 * gauss()), head: iid(n, () => 0.04 * gauss()) }),
  },
  {
    name: "heavy tails (Student-t, 3 df), CV 4 %",
    draw: (n) => ({
      base: iid(n, () => (0.04 * studentT3()) / Math.sqrt(3)),
      head: iid(n, () => (0.04 * studentT3()) / Math.sqrt(3)),
    }),
  },
  {
    name: "clock states (30 % of rounds +5 %, per side), CV 4 %",
    draw: (n) => {
      const s = () => 0.037 * gauss() + (rand() < 0.3 ? Math.log(1.05) : 0);
      return { base: iid(n, s), head: iid(n, s) };
    },
  },
  {
    name: "AR(1) ρ 0.7 drift shared by the pair + CV 4 % each",
    draw: (n) => {
      const drift = ar1(n, 0.7, 0.04);
      return { base: drift.map((d) => d + 0.04 * gauss()), head: drift.map((d) => d + 0.04 * gauss()) };
    },
  },
];
const EFFECTS = [0, 0.02, 0.1];

const designs = {
  bonferroni: (() => {
    const looks = sequentialLooks(5, MAX);
    return {
      looks,
      alpha: ALPHA / looks.length,
      label: `Bonferroni: looks ${looks.join(",")} at alpha/${looks.length}`,
    };
  })(),
  pocock: (() => {
    const p = sequentialPlan(6, MAX, ALPHA, true);
    return { looks: p.looks, alpha: p.alphaPerLook, label: p.method };
  })(),
};

function run(design, base, head) {
  let v;
  let used = MAX;
  for (const r of design.looks) {
    v = regressionVerdict(base.slice(0, r), head.slice(0, r), {
      direction: "smaller",
      maxRegression: MARGIN,
      alpha: design.alpha,
      paired: true,
      minSamples: 5,
    });
    used = r;
    if (v.verdict !== "inconclusive") break;
  }
  return { verdict: v.verdict, rounds: used };
}

console.log(
  `gpuci A/B sequential design: margin 5 %, alpha ${ALPHA}, rounds ≤ ${MAX}, ${trials} trials per cell`,
);
for (const d of Object.values(designs)) console.log(`- ${d.label}`);
console.log("");
console.log(
  "| noise model | change | design | regressed | unchanged | improved | inconclusive | mean rounds | fewer rounds |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
const pct = (k) => `${((100 * k) / trials).toFixed(1)} %`;
const misses = [];
const savings = [];
for (const model of MODELS) {
  for (const effect of EFFECTS) {
    const tally = {};
    for (const name of Object.keys(designs))
      tally[name] = { regressed: 0, unchanged: 0, improved: 0, inconclusive: 0, rounds: 0 };
    for (let t = 0; t < trials; t++) {
      const { base, head } = model.draw(MAX);
      const b = base.map((x) => 100 * Math.exp(x));
      const h = head.map((x) => 100 * (1 + effect) * Math.exp(x));
      for (const [name, d] of Object.entries(designs)) {
        const r = run(d, b, h);
        tally[name][r.verdict]++;
        tally[name].rounds += r.rounds;
      }
    }
    const mean = (name) => tally[name].rounds / trials;
    const saved = 1 - mean("pocock") / mean("bonferroni");
    savings.push({
      model: model.name,
      effect,
      saved,
      pocock: mean("pocock"),
      bonferroni: mean("bonferroni"),
    });
    for (const name of Object.keys(designs)) {
      const c = tally[name];
      console.log(
        `| ${model.name} | ${effect ? `+${effect * 100} %` : "A/A"} | ${name} | ${pct(c.regressed)} | ${pct(c.unchanged)} | ${pct(c.improved)} | ${pct(c.inconclusive)} | ${mean(name).toFixed(1)} | ${name === "pocock" ? `${(saved * 100).toFixed(1)} %` : ""} |`,
      );
    }
    const p = tally.pocock;
    const limit = effect === 0 ? 0.01 : effect === 0.02 ? 0.025 : undefined;
    if (limit !== undefined && p.regressed > limit * trials)
      misses.push(`${model.name}, ${effect ? `+${effect * 100} %` : "A/A"}: regressed ${pct(p.regressed)}`);
    if (effect === 0.1 && p.regressed < 0.95 * trials)
      misses.push(`${model.name}, +10 %: regressed only ${pct(p.regressed)}`);
  }
}
const cv4 = savings.filter((s) => s.model === MODELS[0].name);
const pooled = 1 - cv4.reduce((a, s) => a + s.pocock, 0) / cv4.reduce((a, s) => a + s.bonferroni, 0);
console.log(
  `\nCV 4 % (log-normal): ${(pooled * 100).toFixed(1)} % fewer rounds over A/A, +2 % and +10 % together (${cv4.map((s) => `${s.effect ? `+${s.effect * 100} %` : "A/A"} ${(s.saved * 100).toFixed(1)} %`).join(", ")})`,
);
if (pooled < 0.1) misses.push("fewer than 10 % fewer rounds at CV 4 %");
console.log(misses.length ? `\nmissed: ${misses.join("; ")}` : "\nall targets met");
