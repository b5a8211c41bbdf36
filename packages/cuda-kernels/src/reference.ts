import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { DataFileError, parseNpy } from "@gpuci/report";
import { CATALOG, type Dtype, type KernelName, type NativeShape, rng, roundToF16 } from "./catalog.js";

/** A user's inputs and expected output for one shape: checked instead of the float64 reference. */
export interface FixedReference {
  inputs: Float32Array[];
  output: Float64Array;
  /** Where they came from, for the report. */
  label: string;
}

/** Read a numeric array from .npy (float16/32/64) or .json (numbers, nested arrays flattened in C order). */
export async function readArrayFile(file: string, baseDir: string): Promise<Float64Array> {
  const path = resolve(baseDir, file);
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    throw new DataFileError(
      `${file} does not exist (looked in ${baseDir})`,
      "Fix kernels[].reference in gpuci.yml, or run the step that writes the file first.",
    );
  }
  if (extname(path) === ".npy") return parseNpy(buf, file).values;
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString("utf8"));
  } catch (error) {
    throw new DataFileError(
      `${file} is neither .npy nor valid JSON: ${(error as Error).message}`,
      "Save arrays with numpy.save(path, a) or json.dump(a.tolist(), f).",
    );
  }
  const flat = Array.isArray(doc) ? (doc as unknown[]).flat(Number.POSITIVE_INFINITY) : [doc];
  const bad = flat.findIndex((x) => typeof x !== "number");
  if (bad >= 0)
    throw new DataFileError(
      `${file} holds ${JSON.stringify(flat[bad])} at flat index ${bad}; gpuci reads arrays of numbers`,
      "Save numbers only (NaN and Inf need .npy).",
    );
  return Float64Array.from(flat as number[]);
}

/**
 * Load a user's reference files for one shape and check their sizes against the catalog's
 * contract for that shape (inputs in catalog order, then the output). f16 inputs are rounded to
 * binary16, as the kernel will see them.
 */
export async function loadReference(
  kernel: KernelName,
  s: NativeShape,
  dtype: Dtype,
  ref: { inputs: string[]; output: string },
  baseDir: string,
): Promise<FixedReference> {
  const spec = CATALOG[kernel];
  const sizes = spec.inputs({ ...s }, rng(1), "f32").map((a) => a.length);
  if (ref.inputs.length !== sizes.length)
    throw new DataFileError(
      `${kernel} takes ${sizes.length} input${sizes.length === 1 ? "" : "s"}; kernels[].reference.inputs lists ${ref.inputs.length}`,
      `List ${kernel}'s inputs in catalog order (see the kernels README).`,
    );
  const inputs: Float32Array[] = [];
  for (const [i, file] of ref.inputs.entries()) {
    const values = await readArrayFile(file, baseDir);
    if (values.length !== sizes[i])
      throw new DataFileError(
        `${file} holds ${values.length} values; input ${i + 1} of ${kernel} ${spec.describe(s)} has ${sizes[i]}`,
        "Make the entry's one shape match the files.",
      );
    const f = Float32Array.from(values);
    if (dtype === "f16") for (let j = 0; j < f.length; j++) f[j] = roundToF16(f[j]!);
    inputs.push(f);
  }
  const output = await readArrayFile(ref.output, baseDir);
  if (output.length !== spec.outputSize(s))
    throw new DataFileError(
      `${ref.output} holds ${output.length} values; the output of ${kernel} ${spec.describe(s)} has ${spec.outputSize(s)}`,
      "Make the entry's one shape match the files.",
    );
  return { inputs, output, label: `${ref.output} (inputs ${ref.inputs.join(", ")})` };
}
