import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import {
  DataFileError,
  parseNpy as parseNpyData,
  type NumericArray as ReportNumericArray,
} from "@gpuci/report";
import { getPath, MetricError, parseLooseJson, statMetricFile } from "./metric.js";

/** The largest JSON or .npy array parity reads whole (CSV streams). */
const MAX_PARITY_BYTES = 1024 * 2 ** 20;

import { ExtractError, extractCsv, MissingColumnError } from "./stream.js";

/** A numeric artifact: its values (flattened, C order) and shape. */
export type NumericArray = ReportNumericArray;

/** Where one side of a parity check comes from. */
export interface ParitySide {
  file: string;
  format?: "json" | "csv" | "npy";
  path?: string;
  column?: string;
}

/**
 * Parse a .npy file (float16/32/64, either byte order, C order), as a gate's metric error on
 * bad input. The reader itself lives in @gpuci/report, shared with the kernels' reference files.
 */
export function parseNpy(buf: Buffer, name = "array.npy"): NumericArray {
  try {
    return parseNpyData(buf, name);
  } catch (error) {
    if (error instanceof DataFileError) throw new MetricError(error.message, error.remedy);
    throw error;
  }
}

function flattenJson(v: unknown, name: string): NumericArray {
  const shape: number[] = [];
  let probe = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  // Every list at a level has the length the first one has: [[1, 2], [3], [4, 5, 6]] is ragged.
  let level: unknown[] = [v];
  for (let d = 0; d < shape.length; d++) {
    const next: unknown[] = [];
    for (const x of level) {
      if (!Array.isArray(x) || x.length !== shape[d])
        throw new MetricError(
          `${name} is a ragged array: at depth ${d + 1} a list has ${Array.isArray(x) ? x.length : "no"} elements where the first has ${shape[d]}`,
          "Compare rectangular arrays.",
        );
      for (const y of x) next.push(y);
    }
    level = next;
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
  const size = await statMetricFile(file, side.file);
  if (format !== "csv" && size > MAX_PARITY_BYTES)
    throw new MetricError(
      `${side.file} is ${Math.round(size / 2 ** 20)} MiB; parity reads arrays up to ${MAX_PARITY_BYTES / 2 ** 20} MiB`,
      "Compare a slice or a checksum of the array (e.g. every 100th element) instead of the whole tensor.",
    );
  const buf = format === "csv" ? Buffer.alloc(0) : await readFile(file);
  if (format === "npy") return parseNpy(buf, side.file);
  if (format === "csv") {
    if (!side.column)
      throw new MetricError("parity on a CSV needs column", `Name the column of ${side.file} to compare.`);
    let ex: Awaited<ReturnType<typeof extractCsv>>;
    try {
      ex = await extractCsv(file, side.column);
    } catch (error) {
      if (error instanceof MissingColumnError || error instanceof ExtractError)
        throw new MetricError(
          `${side.file} ${error.message}`,
          error instanceof ExtractError ? error.remedy : `Name a column of ${side.file}.`,
        );
      throw error;
    }
    // Parity compares position by position: one row skipped would shift every value after it.
    const unreadable = ex.invalid + ex.nulls + ex.nonNumeric;
    if (unreadable > 0)
      throw new MetricError(
        `${side.file}: ${unreadable} row(s) of column ${side.column} could not be read as numbers (first at line ${Math.min(...[ex.firstInvalidLine, ex.firstNullLine, ex.firstNonNumericLine].filter((x): x is number => x !== undefined))})`,
        "Parity needs a number in every row; fix the command that writes the file.",
      );
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
  // Nothing compared is not "equal": empty and zero-size inputs are refused.
  if (a.values.length === 0)
    throw new MetricError(
      `both arrays are empty (shape (${a.shape.join(", ")})): there is nothing to compare`,
      "Check that both implementations wrote their outputs; a parity check needs values.",
    );
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  let compared = 0;
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
    compared++;
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
  if (compared === 0)
    throw new MetricError(
      `no finite value in either array (${a.values.length} NaN/Inf positions that agree): equal garbage is not parity`,
      "Find why both outputs are NaN/Inf (a diverged run, an uninitialised buffer); parity needs finite values.",
    );
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
