import { GpuciError } from "./errors.js";
import { fromHalfBits } from "./half.js";

/** A numeric array read from a file: its values (flattened, C order) and shape. */
export interface NumericArray {
  values: Float64Array;
  shape: number[];
}

/** A data file gpuci could not read as numbers; `remedy` says how to write it so it can. */
export class DataFileError extends GpuciError {
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super("GPUCI_DATA_FILE_INVALID", message);
    this.name = "DataFileError";
  }
}

const NPY_KINDS: Record<string, { bytes: number; le: boolean; kind: "f2" | "f4" | "f8" }> = {
  "<f2": { bytes: 2, le: true, kind: "f2" },
  ">f2": { bytes: 2, le: false, kind: "f2" },
  "<f4": { bytes: 4, le: true, kind: "f4" },
  ">f4": { bytes: 4, le: false, kind: "f4" },
  "<f8": { bytes: 8, le: true, kind: "f8" },
  ">f8": { bytes: 8, le: false, kind: "f8" },
};

/**
 * Parse a .npy file (format 1.0–3.0): little- or big-endian float16/float32/float64, C order.
 * Other dtypes and Fortran order are rejected with a message that says what was found.
 */
export function parseNpy(buf: Buffer, name = "array.npy"): NumericArray {
  if (buf.length < 10 || buf.toString("latin1", 0, 6) !== "\x93NUMPY")
    throw new DataFileError(`${name} is not a .npy file (no \\x93NUMPY magic)`, "Save it with numpy.save().");
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString(major >= 3 ? "utf8" : "latin1", start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const dims = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  // Each dimension is a count: (-2, -2) or (1.5,) describe no array.
  const badDim = dims.find((d) => !/^\d+$/.test(d));
  if (badDim !== undefined || /'shape':/.test(header) === false)
    throw new DataFileError(
      `${name} has shape (${shapeText.trim()})${badDim !== undefined ? `: ${badDim} is not a count` : ": none found"}`,
      "Save it with numpy.save(); every dimension of an array is a whole number ≥ 0.",
    );
  const shape = dims.map(Number);
  if (fortran)
    throw new DataFileError(
      `${name} is in Fortran order`,
      "Save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a)).",
    );
  const kind = descr ? NPY_KINDS[descr] : undefined;
  if (!kind)
    throw new DataFileError(
      `${name} has dtype ${descr ?? "unknown"}; gpuci reads float16, float32 and float64`,
      "Convert before saving: numpy.save(path, a.astype(numpy.float32)).",
    );
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count))
    throw new DataFileError(
      `${name} has shape (${shape.join(", ")}): more values than any file holds`,
      "Save the array with numpy.save(); the header was altered.",
    );
  const data = start + headerLen;
  if (buf.length < data + count * kind.bytes)
    throw new DataFileError(
      `${name} is truncated: shape (${shape.join(", ")}) needs ${count * kind.bytes} data bytes`,
      "Re-save the array; the file was cut short.",
    );
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = data + i * kind.bytes;
    values[i] =
      kind.kind === "f8"
        ? kind.le
          ? buf.readDoubleLE(o)
          : buf.readDoubleBE(o)
        : kind.kind === "f4"
          ? kind.le
            ? buf.readFloatLE(o)
            : buf.readFloatBE(o)
          : fromHalfBits(kind.le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  }
  return { values, shape };
}
