import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { getPath, MetricError, parseLooseJson } from "./metric.js";
import { extractCsv } from "./stream.js";

/** A numeric artifact: its values (flattened, C order) and shape. */
export interface NumericArray {
  values: Float64Array;
  shape: number[];
}

/** Where one side of a parity check comes from. */
export interface ParitySide {
  file: string;
  format?: "json" | "csv" | "npy";
  path?: string;
  column?: string;
}

/**
 * Parse a .npy file (format 1.0–3.0): little- or big-endian float32/float64, C order.
 * Other dtypes and Fortran order are rejected with a message that says what was found.
 */
export function parseNpy(buf: Buffer, name = "array.npy"): NumericArray {
  if (buf.length < 10 || buf.toString("latin1", 0, 6) !== "\x93NUMPY")
    throw new MetricError(`${name} is not a .npy file (no \\x93NUMPY magic)`, "Save it with numpy.save().");
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString(major >= 3 ? "utf8" : "latin1", start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (fortran)
    throw new MetricError(
      `${name} is in Fortran order`,
      "Save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a)).",
    );
  const kinds: Record<string, { bytes: number; le: boolean; f64: boolean }> = {
    "<f4": { bytes: 4, le: true, f64: false },
    ">f4": { bytes: 4, le: false, f64: false },
    "<f8": { bytes: 8, le: true, f64: true },
    ">f8": { bytes: 8, le: false, f64: true },
  };
  const kind = descr ? kinds[descr] : undefined;
  if (!kind)
    throw new MetricError(
      `${name} has dtype ${descr ?? "unknown"}; gpuci compares float32 and float64`,
      "Convert before saving: numpy.save(path, a.astype(numpy.float32)).",
    );
  const count = shape.reduce((a, b) => a * b, 1);
  const data = start + headerLen;
  if (buf.length < data + count * kind.bytes)
    throw new MetricError(
      `${name} is truncated: shape (${shape.join(", ")}) needs ${count * kind.bytes} data bytes`,
      "Re-save the array; the file was cut short.",
    );
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = data + i * kind.bytes;
    values[i] = kind.f64
      ? kind.le
        ? buf.readDoubleLE(o)
        : buf.readDoubleBE(o)
      : kind.le
        ? buf.readFloatLE(o)
        : buf.readFloatBE(o);
  }
  return { values, shape };
}

function flattenJson(v: unknown, name: string): NumericArray {
  const shape: number[] = [];
  let probe = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat = (Array.isArray(v) ? (v as unknown[]).flat(Number.POSITIVE_INFINITY) : [v]) as unknown[];
  if (!flat.every((x) => typeof x === "number"))
    throw new MetricError(`${name} holds values that are not numbers`, "Compare arrays of numbers only.");
  if (flat.length !== shape.reduce((a, b) => a * b, 1))
    throw new MetricError(`${name} is a ragged array`, "Compare rectangular arrays.");
  return { values: Float64Array.from(flat as number[]), shape: shape.length ? shape : [1] };
}

/** Read one side of a parity check. */
export async function readNumericArray(side: ParitySide, baseDir: string): Promise<NumericArray> {
  const file = resolve(baseDir, side.file);
  const format =
    side.format ?? (extname(file) === ".npy" ? "npy" : extname(file) === ".csv" ? "csv" : "json");
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch {
    throw new MetricError(
      `${side.file} does not exist`,
      `Make the step that writes ${side.file} run before the gates.`,
    );
  }
  if (format === "npy") return parseNpy(buf, side.file);
  if (format === "csv") {
    if (!side.column)
      throw new MetricError("parity on a CSV needs column", `Name the column of ${side.file} to compare.`);
    const ex = await extractCsv(file, side.column);
    return { values: ex.values, shape: [ex.values.length] };
  }
  const doc = parseLooseJson(buf.toString("utf8"));
  const v = side.path ? getPath(doc, side.path) : doc;
  if (v === undefined)
    throw new MetricError(`${side.file} has no "${side.path}"`, "Fix the path (dots and [index]).");
  return flattenJson(v, side.file);
}

/** How two arrays differ. */
export interface ParityResult {
  count: number;
  maxAbsErr: number;
  maxRelErr: number;
  /** ‖a − b‖₂ / ‖b‖₂ */
  relL2Drift: number;
  /** Elements outside atol + rtol·|b| (NaN/Inf positions that differ count). */
  violations: number;
  /** The worst elements by absolute error, with their indices (multi-dimensional). */
  worst: Array<{ index: number[]; a: number; b: number; absErr: number }>;
  nanMismatch: number;
}

function unravel(i: number, shape: number[]): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return out;
}

/** Compare `a` (candidate) with `b` (reference) elementwise. Shapes must be equal. */
export function compareArrays(
  a: NumericArray,
  b: NumericArray,
  tol: { rtol?: number; atol?: number } = {},
): ParityResult {
  if (a.shape.join("x") !== b.shape.join("x"))
    throw new MetricError(
      `shapes differ: a is (${a.shape.join(", ")}), b is (${b.shape.join(", ")})`,
      "Compare outputs of the same shape: check that both implementations ran the same configuration.",
    );
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  let maxAbs = 0;
  let maxRel = 0;
  let diff2 = 0;
  let ref2 = 0;
  let violations = 0;
  let nanMismatch = 0;
  const worst: ParityResult["worst"] = [];
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i]!;
    const y = b.values[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      const same = (Number.isNaN(x) && Number.isNaN(y)) || x === y;
      if (!same) {
        nanMismatch++;
        violations++;
      }
      continue;
    }
    const d = Math.abs(x - y);
    diff2 += d * d;
    ref2 += y * y;
    if (d > maxAbs) maxAbs = d;
    const rel = y === 0 ? (d === 0 ? 0 : Number.POSITIVE_INFINITY) : d / Math.abs(y);
    if (rel > maxRel) maxRel = rel;
    if (d > atol + rtol * Math.abs(y)) violations++;
    if (worst.length < 5 || d > worst[worst.length - 1]!.absErr) {
      worst.push({ index: unravel(i, a.shape), a: x, b: y, absErr: d });
      worst.sort((p, q) => q.absErr - p.absErr);
      if (worst.length > 5) worst.pop();
    }
  }
  return {
    count: a.values.length,
    maxAbsErr: maxAbs,
    maxRelErr: maxRel,
    relL2Drift: ref2 === 0 ? (diff2 === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.sqrt(diff2 / ref2),
    violations,
    worst,
    nanMismatch,
  };
}
