/**
 * Units as data: every value gates read carries a unit, and one unit system converts, compares
 * and prints them. A unit string ("ms", "ns/op", "GB/s", "Mbyte", "tokens/s", "%") parses into
 * a dimension and a factor to the dimension's base, so 1 s and 1000000000 ns are the same time
 * and 2 GB/s is 2000 MB/s; units of different dimensions never convert (an error names both).
 */

/** What a unit measures. `per` units are a quantity per time (rates) or a time per item. */
export type Dimension =
  | "time" // base: second
  | "size" // base: byte
  | "work" // base: one item (ops, iterations, tokens, FLOP, rows, samples, cycles…), named by `noun`
  | "ratio" // base: 1 (percent is 0.01)
  | "rate" // size or work per time: base bytes/s or items/s
  | "time-per" // time per item: base s per item
  | "size-per" // bytes per item (B/op)
  | "work-per"; // items per item (allocs/op)

/** A parsed unit. */
export interface Unit {
  /** The text as written (trimmed). */
  text: string;
  dimension: Dimension;
  /** Multiply a value in this unit by `factor` to get the dimension's base unit. */
  factor: number;
  /** For work and per units: what is counted ("op", "token", "FLOP", "byte"); compared exactly. */
  noun?: string;
  /** For per units: what the quantity is per ("op", "step", "sample"). */
  per?: string;
}

const TIME: Record<string, number> = {
  ps: 1e-12,
  psec: 1e-12,
  picosecond: 1e-12,
  ns: 1e-9,
  nsec: 1e-9,
  nsecond: 1e-9,
  nanosecond: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  usec: 1e-6,
  usecond: 1e-6,
  microsecond: 1e-6,
  ms: 1e-3,
  msec: 1e-3,
  msecond: 1e-3,
  millisecond: 1e-3,
  s: 1,
  sec: 1,
  second: 1,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
};

const SI: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
const BINARY: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** Canonical nouns for what benchmarks count (plural and abbreviations folded). */
const NOUNS: Record<string, string> = {
  op: "op",
  ops: "op",
  operation: "op",
  operations: "op",
  it: "iteration",
  iter: "iteration",
  iters: "iteration",
  iteration: "iteration",
  iterations: "iteration",
  item: "item",
  items: "item",
  elem: "element",
  elems: "element",
  element: "element",
  elements: "element",
  token: "token",
  tokens: "token",
  tok: "token",
  sample: "sample",
  samples: "sample",
  step: "step",
  steps: "step",
  batch: "batch",
  batches: "batch",
  query: "query",
  queries: "query",
  req: "request",
  request: "request",
  requests: "request",
  row: "row",
  rows: "row",
  call: "call",
  calls: "call",
  run: "run",
  runs: "run",
  frame: "frame",
  frames: "frame",
  image: "image",
  images: "image",
  img: "image",
  inst: "instruction",
  instruction: "instruction",
  instructions: "instruction",
  cycle: "cycle",
  cycles: "cycle",
  flop: "FLOP",
  flops: "FLOP",
  alloc: "allocation",
  allocs: "allocation",
  allocation: "allocation",
  allocations: "allocation",
  test: "test",
  tests: "test",
  event: "event",
  events: "event",
  epoch: "epoch",
  epochs: "epoch",
  record: "record",
  records: "record",
  message: "message",
  messages: "message",
  msg: "message",
  char: "character",
  chars: "character",
  word: "word",
  words: "word",
  warp: "warp",
  warps: "warp",
  block: "block",
  blocks: "block",
  thread: "thread",
  threads: "thread",
  sector: "sector",
  sectors: "sector",
  register: "register",
  registers: "register",
  wavefront: "wavefront",
  wavefronts: "wavefront",
};

function parseTime(s: string): number | undefined {
  for (const c of [s, s.toLowerCase()]) {
    if (TIME[c] !== undefined) return TIME[c];
    // Plurals of the spelled-out and abbreviated forms: "seconds", "usecs", "nsecs".
    if (c.length > 3 && c.endsWith("s") && TIME[c.slice(0, -1)] !== undefined) return TIME[c.slice(0, -1)];
  }
  return undefined;
}

const SIZE_WORDS: Record<string, number> = { "": 1, kilo: 1e3, mega: 1e6, giga: 1e9, tera: 1e12, peta: 1e15 };

function parseSize(s: string): number | undefined {
  const m = /^(|k|K|M|G|T|P|Ki|Mi|Gi|Ti)(B|byte|bytes|Byte|Bytes)$/.exec(s);
  if (m) return BINARY[m[1]!] ?? SI[m[1]!];
  const w = /^(|kilo|mega|giga|tera|peta)bytes?$/i.exec(s);
  return w ? SIZE_WORDS[w[1]!.toLowerCase()] : undefined;
}

/** A counted thing with an optional SI prefix: "ops", "Mrows", "GFLOP", "kitems". */
function parseWork(s: string): { factor: number; noun: string } | undefined {
  const direct = NOUNS[s] ?? NOUNS[s.toLowerCase()];
  if (direct) return { factor: 1, noun: direct };
  const m = /^(k|K|M|G|T|P)(.+)$/.exec(s);
  if (m) {
    const noun = NOUNS[m[2]!] ?? NOUNS[m[2]!.toLowerCase()];
    if (noun) return { factor: SI[m[1]!]!, noun };
  }
  return undefined;
}

/**
 * Parse a unit string. Accepts what benchmark tools write: time (ps … h, "usecond", "nsec"),
 * sizes (B, KB, KiB, Mbyte), counted work (ops, Mrows, GFLOP), percent, rates (ops/s, GB/s,
 * "byte/second", tokens/sec, GFLOPS, TFLOP/s, Hz, it/s) and per-item units (ns/op, ms/step,
 * B/op, allocs/op). Undefined when the text is not a unit gpuci knows.
 */
export function parseUnit(input: string | undefined): Unit | undefined {
  if (input === undefined) return undefined;
  const text = input.trim();
  if (text === "") return undefined;
  if (text === "%" || /^percent(age)?$/i.test(text)) return { text, dimension: "ratio", factor: 0.01 };
  if (/^(ratio|fraction|x|×)$/i.test(text)) return { text, dimension: "ratio", factor: 1 };
  if (/^(ppm)$/i.test(text)) return { text, dimension: "ratio", factor: 1e-6 };
  // Frequency: Hz is per second.
  const hz = /^(|k|K|M|G|T)Hz$/i.exec(text);
  if (hz)
    return { text, dimension: "rate", factor: SI[hz[1]!] ?? SI[hz[1]!.toUpperCase()] ?? 1, noun: "cycle" };
  // FLOPS / GFLOPS / TFLOPS (a rate without a slash).
  const flops = /^(|k|K|M|G|T|P)FLOPS$/i.exec(text);
  if (flops)
    return { text, dimension: "rate", factor: SI[flops[1]!.toUpperCase().replace("K", "k")]!, noun: "FLOP" };
  const slash = text.split("/");
  if (slash.length === 1) {
    const t = parseTime(text);
    if (t !== undefined) return { text, dimension: "time", factor: t };
    const b = parseSize(text);
    if (b !== undefined) return { text, dimension: "size", factor: b };
    const w = parseWork(text);
    if (w) return { text, dimension: "work", factor: w.factor, noun: w.noun };
    return undefined;
  }
  if (slash.length !== 2) return undefined;
  const [num, den] = [slash[0]!.trim(), slash[1]!.trim()];
  const denTime = parseTime(den);
  if (denTime !== undefined) {
    // A rate: something per time.
    const b = parseSize(num);
    if (b !== undefined) return { text, dimension: "rate", factor: b / denTime, noun: "byte" };
    const w = parseWork(num);
    if (w) return { text, dimension: "rate", factor: w.factor / denTime, noun: w.noun };
    return undefined;
  }
  const perWork = parseWork(den);
  if (!perWork || perWork.factor !== 1) return undefined;
  const numTime = parseTime(num);
  if (numTime !== undefined) return { text, dimension: "time-per", factor: numTime, per: perWork.noun };
  const numSize = parseSize(num);
  if (numSize !== undefined)
    return { text, dimension: "size-per", factor: numSize, per: perWork.noun, noun: "byte" };
  const numWork = parseWork(num);
  if (numWork)
    return { text, dimension: "work-per", factor: numWork.factor, per: perWork.noun, noun: numWork.noun };
  return undefined;
}

/** Why two units cannot be compared, in words; undefined when they convert. */
export function incompatible(a: Unit, b: Unit): string | undefined {
  if (a.dimension !== b.dimension)
    return `"${a.text}" is ${describeDimension(a)} and "${b.text}" is ${describeDimension(b)}`;
  if (
    (a.noun ?? "") !== (b.noun ?? "") &&
    a.dimension !== "time" &&
    a.dimension !== "size" &&
    a.dimension !== "ratio"
  )
    return `"${a.text}" counts ${a.noun ?? "?"} and "${b.text}" counts ${b.noun ?? "?"}`;
  if ((a.per ?? "") !== (b.per ?? ""))
    return `"${a.text}" is per ${a.per ?? "?"} and "${b.text}" per ${b.per ?? "?"}`;
  return undefined;
}

function describeDimension(u: Unit): string {
  switch (u.dimension) {
    case "time":
      return "a time";
    case "size":
      return "a size";
    case "work":
      return `a count of ${u.noun}s`;
    case "ratio":
      return "a ratio";
    case "rate":
      return `a rate (${u.noun === "byte" ? "bytes" : `${u.noun}s`} per time)`;
    case "time-per":
      return `a time per ${u.per}`;
    case "size-per":
      return `a size per ${u.per}`;
    case "work-per":
      return `a count per ${u.per}`;
  }
}

/** A unit mismatch: base and head (or a value and a threshold) in units that do not convert. */
export class UnitError extends Error {}

/**
 * Convert `value` from one unit to another. Identical texts always convert (even unknown ones);
 * anything else must parse and be compatible, or UnitError names both units.
 */
export function convert(value: number, from: string | undefined, to: string | undefined): number {
  if ((from ?? "") === (to ?? "")) return value;
  const a = parseUnit(from);
  const b = parseUnit(to);
  if (!a || !b)
    throw new UnitError(
      `cannot convert between "${from ?? ""}" and "${to ?? ""}": ${!a ? `"${from ?? ""}"` : `"${to ?? ""}"`} is not a unit gpuci knows`,
    );
  const why = incompatible(a, b);
  if (why) throw new UnitError(`cannot convert between units: ${why}`);
  // The factors are decimal or binary powers: round their ratio to 15 digits so 1 s is exactly
  // 1e9 ns rather than 999999999.9999999.
  return value * Number((a.factor / b.factor).toPrecision(15));
}

/** True when values in `a` and `b` can be compared (converted). */
export function convertible(a: string | undefined, b: string | undefined): boolean {
  try {
    convert(1, a, b);
    return true;
  } catch {
    return false;
  }
}

/** Which way is better, and the rule that decided it. */
export interface DirectionRule {
  direction: "smaller" | "bigger";
  rule: string;
}

/**
 * The direction a unit implies, by grammar: a time, a time per item, a size or a count per item
 * is smaller-is-better; anything per time (a rate, a frequency) is bigger-is-better. Ratios,
 * plain counts and unknown units imply nothing (undefined): the tool or the config must say.
 */
export function directionOfUnit(unit: string | undefined): DirectionRule | undefined {
  const u = parseUnit(unit);
  if (!u) return undefined;
  switch (u.dimension) {
    case "time":
      return { direction: "smaller", rule: `unit ${u.text} is a time: smaller is better` };
    case "time-per":
      return { direction: "smaller", rule: `unit ${u.text} is a time per ${u.per}: smaller is better` };
    case "size":
      return { direction: "smaller", rule: `unit ${u.text} is a size: smaller is better` };
    case "size-per":
    case "work-per":
      return { direction: "smaller", rule: `unit ${u.text} is a cost per ${u.per}: smaller is better` };
    case "rate":
      return { direction: "bigger", rule: `unit ${u.text} is per time (a rate): bigger is better` };
    default:
      return undefined;
  }
}

const TIME_STEPS: Array<[string, number]> = [
  ["ps", 1e-12],
  ["ns", 1e-9],
  ["µs", 1e-6],
  ["ms", 1e-3],
  ["s", 1],
];

/** Four significant digits, without exponent notation for the usual range. */
function sig(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US").replace(/,/g, " ");
  return Number(x.toPrecision(4)).toString();
}

/**
 * A value in a unit people read at a glance: times as ps … s (or min/h past 100 s), sizes and
 * rates with an SI prefix, percent for ratios given in percent. Unknown units print as given.
 * `37e-6 s` → "37 µs"; `123456789 ns` → "123.5 ms"; `2.5e9 B/s` → "2.5 GB/s".
 */
export function humanValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return `${value}${unit ? ` ${unit}` : ""}`;
  const u = parseUnit(unit);
  if (!u) return `${sig(value)}${unit ? ` ${unit}` : ""}`;
  if (u.dimension === "time" || u.dimension === "time-per") {
    const secs = value * u.factor;
    const suffix = u.dimension === "time-per" ? `/${u.per}` : "";
    const a = Math.abs(secs);
    if (a >= 100 && u.dimension === "time") {
      if (a >= 7200) return `${sig(secs / 3600)} h`;
      if (a >= 120) return `${sig(secs / 60)} min`;
    }
    let pick = TIME_STEPS[0]!;
    for (const step of TIME_STEPS) if (a >= step[1] * 0.9999) pick = step;
    return `${sig(secs / pick[1])} ${pick[0]}${suffix}`;
  }
  if (u.dimension === "ratio")
    return u.factor === 1 && /^fraction$/i.test(u.text)
      ? `${sig(value * 100)} %`
      : u.factor === 1
        ? sig(value)
        : `${sig(value * u.factor * 100)} %`;
  const base = value * u.factor;
  const prefixes: Array<[string, number]> = [
    ["", 1],
    ["k", 1e3],
    ["M", 1e6],
    ["G", 1e9],
    ["T", 1e12],
    ["P", 1e15],
  ];
  let pick = prefixes[0]!;
  for (const p of prefixes) if (Math.abs(base) >= p[1]) pick = p;
  const scaled = sig(base / pick[1]);
  switch (u.dimension) {
    case "size":
      return `${scaled} ${pick[0]}B`;
    case "size-per":
      return `${scaled} ${pick[0]}B/${u.per}`;
    case "rate":
      return u.noun === "byte"
        ? `${scaled} ${pick[0]}B/s`
        : u.noun === "FLOP"
          ? `${scaled} ${pick[0]}FLOP/s`
          : u.noun === "cycle" && /hz$/i.test(u.text)
            ? `${scaled} ${pick[0]}Hz`
            : `${scaled} ${pick[0]}${u.noun}s/s`;
    case "work":
      return `${scaled} ${pick[0]}${u.noun === "FLOP" ? "FLOP" : `${u.noun}s`}`;
    case "work-per":
      return `${scaled} ${pick[0]}${u.noun}s/${u.per}`;
    default:
      return `${sig(value)} ${unit}`;
  }
}

/**
 * A threshold as written in gpuci.yml: a bare number (in the metric's own unit) or a number
 * with a unit ("2ms", "1.5 GB/s", "5%"). Returns the value and the unit text, or undefined for
 * text that is not a number with a unit.
 */
export function parseQuantity(text: string): { value: number; unit: string } | undefined {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  if (!Number.isFinite(value)) return undefined;
  if (!parseUnit(m[2]!)) return undefined;
  return { value, unit: m[2]! };
}
