import { roundToF16, seededRandom } from "@gpuci/report";

export { roundToF16 };
/** The kernels gpuci knows, with float64 references and their cost model. */
export const KERNELS = ["vector-add", "matmul", "softmax", "layernorm", "attention"] as const;
export type KernelName = (typeof KERNELS)[number];
export type Dtype = "f32" | "f16";

/** A problem size. Which fields matter depends on the kernel. */
export interface KernelShape {
  n?: number;
  m?: number;
  k?: number;
  rows?: number;
  cols?: number;
  b?: number;
  h?: number;
  s?: number;
  d?: number;
  causal?: boolean;
}

/** Normalized sizes passed to backends (the native addon's Shape). */
export interface NativeShape {
  m: number;
  n: number;
  k: number;
  b: number;
  h: number;
  s: number;
  d: number;
  causal: boolean;
  eps: number;
}

/** A seeded PRNG (mulberry32): inputs are drawn fresh for every trial but reproducibly. */
export const rng = seededRandom;

function fill(n: number, r: () => number, dtype: Dtype, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lo + (hi - lo) * r();
    out[i] = dtype === "f16" ? roundToF16(v) : v;
  }
  return out;
}

/** What a kernel needs: inputs, output size, float64 reference and cost model. */
export interface KernelSpec {
  name: KernelName;
  /** The name of the function in the native addon / the WGSL entry. */
  native: string;
  /** Validate and complete a shape; throws with a message naming the missing field. */
  normalize(shape: KernelShape): NativeShape;
  describe(s: NativeShape): string;
  inputs(s: NativeShape, r: () => number, dtype: Dtype): Float32Array[];
  outputSize(s: NativeShape): number;
  reference(inputs: Float32Array[], s: NativeShape): Float64Array;
  /** Floating-point operations of one launch. */
  flops(s: NativeShape): number;
  /** Minimum bytes moved (inputs read once, output written once) at 4 bytes a value (f16: half of it). */
  bytes(s: NativeShape): number;
}

const base: NativeShape = { m: 0, n: 0, k: 0, b: 0, h: 0, s: 0, d: 0, causal: false, eps: 1e-5 };
const need = (shape: KernelShape, kernel: string, ...keys: Array<keyof KernelShape>) => {
  for (const k of keys) {
    const v = shape[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      throw new Error(`${kernel} needs a positive integer "${k}" in its shape (got ${JSON.stringify(v)})`);
  }
};

export const CATALOG: Record<KernelName, KernelSpec> = {
  "vector-add": {
    name: "vector-add",
    native: "vector_add",
    normalize: (sh) => {
      need(sh, "vector-add", "n");
      return { ...base, m: sh.n! };
    },
    describe: (s) => `n=${s.m}`,
    inputs: (s, r, dt) => [fill(s.m, r, dt), fill(s.m, r, dt)],
    outputSize: (s) => s.m,
    reference: ([a, b], s) => {
      const o = new Float64Array(s.m);
      for (let i = 0; i < s.m; i++) o[i] = a![i]! + b![i]!;
      return o;
    },
    flops: (s) => s.m,
    bytes: (s) => 12 * s.m,
  },
  matmul: {
    name: "matmul",
    native: "matmul",
    normalize: (sh) => {
      need(sh, "matmul", "m", "n", "k");
      return { ...base, m: sh.m!, n: sh.n!, k: sh.k! };
    },
    describe: (s) => `${s.m}x${s.n}x${s.k}`,
    inputs: (s, r, dt) => [fill(s.m * s.k, r, dt), fill(s.k * s.n, r, dt)],
    outputSize: (s) => s.m * s.n,
    reference: ([a, b], s) => {
      const c = new Float64Array(s.m * s.n);
      for (let i = 0; i < s.m; i++)
        for (let p = 0; p < s.k; p++) {
          const av = a![i * s.k + p]!;
          const row = p * s.n;
          const out = i * s.n;
          for (let j = 0; j < s.n; j++) c[out + j]! += av * b![row + j]!;
        }
      return c;
    },
    flops: (s) => 2 * s.m * s.n * s.k,
    bytes: (s) => 4 * (s.m * s.k + s.k * s.n + s.m * s.n),
  },
  softmax: {
    name: "softmax",
    native: "softmax",
    normalize: (sh) => {
      need(sh, "softmax", "rows", "cols");
      return { ...base, m: sh.rows!, n: sh.cols! };
    },
    describe: (s) => `${s.m}x${s.n}`,
    inputs: (s, r, dt) => [fill(s.m * s.n, r, dt, -4, 4)],
    outputSize: (s) => s.m * s.n,
    reference: ([x], s) => {
      const y = new Float64Array(s.m * s.n);
      for (let i = 0; i < s.m; i++) {
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < s.n; j++) mx = Math.max(mx, x![i * s.n + j]!);
        let sum = 0;
        for (let j = 0; j < s.n; j++) sum += Math.exp(x![i * s.n + j]! - mx);
        for (let j = 0; j < s.n; j++) y[i * s.n + j] = Math.exp(x![i * s.n + j]! - mx) / sum;
      }
      return y;
    },
    flops: (s) => 5 * s.m * s.n,
    bytes: (s) => 8 * s.m * s.n,
  },
  layernorm: {
    name: "layernorm",
    native: "layernorm",
    normalize: (sh) => {
      need(sh, "layernorm", "rows", "cols");
      return { ...base, m: sh.rows!, n: sh.cols! };
    },
    describe: (s) => `${s.m}x${s.n}`,
    inputs: (s, r, dt) => [
      fill(s.m * s.n, r, dt, -3, 3),
      fill(s.n, r, dt, 0.5, 1.5),
      fill(s.n, r, dt, -0.5, 0.5),
    ],
    outputSize: (s) => s.m * s.n,
    reference: ([x, w, b], s) => {
      const y = new Float64Array(s.m * s.n);
      for (let i = 0; i < s.m; i++) {
        let mean = 0;
        for (let j = 0; j < s.n; j++) mean += x![i * s.n + j]!;
        mean /= s.n;
        let v = 0;
        for (let j = 0; j < s.n; j++) v += (x![i * s.n + j]! - mean) ** 2;
        const inv = 1 / Math.sqrt(v / s.n + s.eps);
        for (let j = 0; j < s.n; j++) y[i * s.n + j] = (x![i * s.n + j]! - mean) * inv * w![j]! + b![j]!;
      }
      return y;
    },
    flops: (s) => 8 * s.m * s.n,
    bytes: (s) => 8 * s.m * s.n + 8 * s.n,
  },
  attention: {
    name: "attention",
    native: "attention",
    normalize: (sh) => {
      need(sh, "attention", "b", "h", "s", "d");
      if (sh.d! > 128) throw new Error(`attention supports head dim d <= 128 (got ${sh.d})`);
      return { ...base, b: sh.b!, h: sh.h!, s: sh.s!, d: sh.d!, causal: sh.causal === true };
    },
    describe: (s) => `b=${s.b} h=${s.h} s=${s.s} d=${s.d}${s.causal ? " causal" : ""}`,
    inputs: (s, r, dt) => {
      const n = s.b * s.h * s.s * s.d;
      return [fill(n, r, dt), fill(n, r, dt), fill(n, r, dt)];
    },
    outputSize: (s) => s.b * s.h * s.s * s.d,
    reference: ([q, k, v], s) => {
      const { b, h, s: S, d: D } = s;
      const o = new Float64Array(b * h * S * D);
      const scale = 1 / Math.sqrt(D);
      const scores = new Float64Array(S);
      for (let bh = 0; bh < b * h; bh++)
        for (let i = 0; i < S; i++) {
          const last = s.causal ? i + 1 : S;
          let mx = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < last; j++) {
            let dot = 0;
            for (let t = 0; t < D; t++) dot += q![(bh * S + i) * D + t]! * k![(bh * S + j) * D + t]!;
            scores[j] = dot * scale;
            mx = Math.max(mx, scores[j]!);
          }
          let sum = 0;
          for (let j = 0; j < last; j++) {
            scores[j] = Math.exp(scores[j]! - mx);
            sum += scores[j]!;
          }
          for (let t = 0; t < D; t++) {
            let acc = 0;
            for (let j = 0; j < last; j++) acc += scores[j]! * v![(bh * S + j) * D + t]!;
            o[(bh * S + i) * D + t] = acc / sum;
          }
        }
      return o;
    },
    // 4·B·H·S²·D (QKᵀ and PV), halved when causal.
    flops: (s) => (4 * s.b * s.h * s.s * s.s * s.d) / (s.causal ? 2 : 1),
    bytes: (s) => 16 * s.b * s.h * s.s * s.d,
  },
};

/** Tolerances (|out − ref| ≤ atol + rtol·|ref|) by dtype, as KernelBench and FlashAttention's tests use. */
export const TOLERANCE: Record<Dtype | "bf16", { atol: number; rtol: number }> = {
  f32: { atol: 1e-4, rtol: 1e-4 },
  f16: { atol: 1e-2, rtol: 1e-2 },
  bf16: { atol: 1e-2, rtol: 1.6e-2 },
};

/** Default shapes: small enough for a software GPU, and never multiples of the tile sizes. */
export const DEFAULT_SHAPES: Record<KernelName, KernelShape[]> = {
  "vector-add": [{ n: 100_003 }],
  matmul: [
    { m: 67, n: 35, k: 129 },
    { m: 128, n: 128, k: 128 },
  ],
  softmax: [{ rows: 33, cols: 1000 }],
  layernorm: [{ rows: 33, cols: 777 }],
  attention: [
    { b: 1, h: 2, s: 67, d: 32 },
    { b: 1, h: 2, s: 67, d: 32, causal: true },
  ],
};
