import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { JSONL_WASM_BASE64 } from "./jsonl-wasm.js";

/** A compiled WebAssembly module (typed here: the project's TypeScript libs have no DOM types). */
type WasmModule = object;
const { WebAssembly: Wasm } = globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => WasmModule };
};
let jsonlModule: WasmModule | undefined;
/** The compiled JSONL scanner, compiled once and shared with every worker (modules clone to workers). */
function jsonlScanner(): WasmModule {
  jsonlModule ??= new Wasm.Module(Buffer.from(JSONL_WASM_BASE64, "base64"));
  return jsonlModule;
}

/** A filter on a value, for `rate` (see WhereSchema). */
export interface Where {
  eq?: string | number | boolean | null;
  ne?: string | number | boolean | null;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  matches?: string;
}

/**
 * What was extracted from one field (JSONL) or column (CSV) of a file, in bounded memory
 * (8 bytes a numeric row). Nothing is dropped without being counted: every non-blank line is a
 * row, an invalid line, or (CSV) part of a quoted field.
 */
export interface Extracted {
  /** Numeric values in file order (NaN and ±Infinity included as such). */
  values: Float64Array;
  /** Rows that were read: JSON objects (JSONL) or records with the header's cell count (CSV). */
  rows: number;
  /** JSONL rows without the field (CSV has none: every row has every column). */
  missing: number;
  /** Rows whose value is null (JSONL `null`; CSV empty, NA, null or None). */
  nulls: number;
  /** Rows whose value is present but not a number (text such as "1000" or "1,250", booleans, objects). */
  nonNumeric: number;
  /** Numeric values that are NaN or ±Infinity. */
  nonFinite: number;
  /** Rows that count for `rate`: the field is true, or it matches `where`. */
  matched: number;
  /** Lines that are not a JSON object, or CSV records that break RFC 4180 or have the wrong cell count. */
  invalid: number;
  /** 1-based line numbers of the first of each kind, for the message. */
  firstInvalidLine?: number;
  firstNullLine?: number;
  firstNonNumericLine?: number;
  firstNonFiniteLine?: number;
  /** Why the first invalid CSV record is invalid. */
  invalidReason?: string;
}

/** Bounds on reading one file; defaults suit files up to tens of GB. */
export interface ExtractOptions {
  where?: Where;
  /** Worker threads for JSONL (default: one per core for files over 8 MiB). */
  workers?: number;
  /** Give up after this long (default 300 s): a `where.matches` that backtracks, a slow disk. */
  timeoutMs?: number;
  /** The longest line (JSONL) or record (CSV) read, in bytes (default 64 MiB). */
  maxLineBytes?: number;
  /** The longest CSV field, in bytes (default 16 MiB). */
  maxFieldBytes?: number;
}

/** Reading stopped before the end: too long a line or field, a timeout, or no such column. */
export class ExtractError extends Error {
  constructor(
    message: string,
    readonly code: "GPUCI_LINE_TOO_LONG" | "GPUCI_READ_TIMEOUT" | "GPUCI_CSV_HEADER" | "GPUCI_READ_FAILED",
    readonly remedy: string,
  ) {
    super(message);
  }
}

/** Thrown when a CSV has no such column. */
export class MissingColumnError extends Error {
  constructor(
    readonly column: string,
    readonly header: string[],
  ) {
    super(
      header.length === 0
        ? `has no header row (looking for "${column}")`
        : `has no column "${column}" (columns: ${header.join(", ")})`,
    );
  }
}

const MiB = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 300_000;

// The scanners run in worker threads (so a deadline can stop them); they are plain JavaScript in
// strings so they work from source, from the built package and inside a single-file bundle.

// What both scanner workers share: their inputs, the counts they return, the growing list of
// values and the where filter.
const WORKER_PRELUDE = `
const { parentPort, workerData } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { file, where, maxLine } = workerData;
const re = where && where.matches !== undefined ? new RegExp(where.matches) : null;
let values = new Float64Array(1 << 16), n = 0;
let rows = 0, lines = 0, missing = 0, nulls = 0, nonNumeric = 0, nonFinite = 0, matched = 0, invalid = 0;
let firstInvalid = -1, firstNull = -1, firstNonNumeric = -1, firstNonFinite = -1, invalidReason = "";
function push(v) { if (n === values.length) { const nv = new Float64Array(values.length * 2); nv.set(values); values = nv; } values[n++] = v; }
function matches(v) {
  if (!where) return v === true;
  if (where.eq !== undefined && v !== where.eq) return false;
  if (where.ne !== undefined && v === where.ne) return false;
  if (where.gt !== undefined && !(typeof v === "number" && v > where.gt)) return false;
  if (where.gte !== undefined && !(typeof v === "number" && v >= where.gte)) return false;
  if (where.lt !== undefined && !(typeof v === "number" && v < where.lt)) return false;
  if (where.lte !== undefined && !(typeof v === "number" && v <= where.lte)) return false;
  if (re && !(typeof v === "string" && re.test(v))) return false;
  return true;
}
`;

const JSONL_WORKER = `
${WORKER_PRELUDE}
const { start, end, field } = workerData;
const segStr = field.split(".");
const segs = segStr.map((s) => Buffer.from(s, "utf8"));
const D = segs.length;
const needStr = !!where && (typeof where.eq === "string" || typeof where.ne === "string" || re !== null);
// A validating JSON scanner over bytes: it accepts exactly what JSON.parse accepts (plus NaN,
// Infinity and -Infinity as values, as Python writes them), never builds objects, and keeps the
// last value of the field (JSON.parse keeps the last of duplicate keys). Each line ends at a
// newline byte (a sentinel at the end of the file), which stops every scan within the line.
const BAD = new Error("bad");
let buf;
let i = 0;
// The captured field: kind 0 absent, 1 number, 2 string, 3 true, 4 false, 5 null, 6 object/array.
let kind = 0, num = 0, strS = 0, strE = 0, strEsc = false;
function ws() {
  const b = buf;
  let j = i, c = b[j];
  while (c === 0x20 || c === 0x09 || c === 0x0d) c = b[++j];
  i = j;
}
function hex(c) { return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46); }
// Hot loops work on locals (b, j) and store the cursor back once.
// Bytes that end a run of plain string bytes: a quote, a backslash or a control character.
const STOP = new Uint8Array(256);
for (let k = 0; k < 0x20; k++) STOP[k] = 1;
STOP[0x22] = 1; STOP[0x5c] = 1;
function str() {
  const b = buf;
  let esc = false, j = i + 1;
  for (;;) {
    while (STOP[b[j]] === 0) j++;
    const c = b[j];
    if (c === 0x22) { i = j + 1; return esc; }
    if (c === 0x5c) {
      esc = true;
      const d = b[j + 1];
      if (d === 0x75) {
        if (!(hex(b[j + 2]) && hex(b[j + 3]) && hex(b[j + 4]) && hex(b[j + 5]))) throw BAD;
        j += 6;
      } else if (d === 0x22 || d === 0x5c || d === 0x2f || d === 0x62 || d === 0x66 || d === 0x6e || d === 0x72 || d === 0x74) j += 2;
      else throw BAD;
    } else if (c < 0x20) throw BAD;
    else j++;
  }
}
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
// Literals are compared byte by byte with ||, so the newline sentinel stops a short line first.
function infinity() {
  if (buf[i + 1] !== 0x6e || buf[i + 2] !== 0x66 || buf[i + 3] !== 0x69 || buf[i + 4] !== 0x6e || buf[i + 5] !== 0x69 || buf[i + 6] !== 0x74 || buf[i + 7] !== 0x79) throw BAD;
  i += 8;
}
function number() {
  const b = buf;
  const s = i;
  let j = i, neg = false;
  if (b[j] === 0x2d) {
    neg = true; j++;
    if (b[j] === 0x49) { i = j; infinity(); return Number.NEGATIVE_INFINITY; }
  }
  let c = b[j], x = 0, digits = 0, scale = 0, slow = false;
  if (c === 0x30) { j++; digits = 1; c = b[j]; }
  else if (c >= 0x31 && c <= 0x39) { do { x = x * 10 + (c - 0x30); digits++; c = b[++j]; } while (c >= 0x30 && c <= 0x39); }
  else throw BAD;
  if (c === 0x2e) {
    c = b[++j];
    if (!(c >= 0x30 && c <= 0x39)) throw BAD;
    do { x = x * 10 + (c - 0x30); digits++; scale++; c = b[++j]; } while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++j];
    if (c === 0x2b || c === 0x2d) c = b[++j];
    if (!(c >= 0x30 && c <= 0x39)) throw BAD;
    do c = b[++j]; while (c >= 0x30 && c <= 0x39);
    slow = true;
  }
  i = j;
  // Up to 15 digits make an exact integer, and one division by an exact power of ten is correctly
  // rounded, so the value equals Number()'s; anything else goes through Number().
  if (slow || digits > 15 || scale > 22) return Number(b.latin1Slice(s, j));
  if (scale > 0) x = x / POW10[scale];
  return neg ? -x : x;
}
function keyIs(s, e, level) {
  const seg = segs[level];
  if (e - s === seg.length) { for (let k = 0; k < seg.length; k++) if (buf[s + k] !== seg[k]) return false; return true; }
  return false;
}
// Scan one value; when capture is true, remember it as the field's value.
function value(depth, level, capture) {
  const c = buf[i];
  if (c === 0x22) {
    const s = i; const esc = str();
    if (capture) { kind = 2; strS = s; strE = i; strEsc = esc; }
  } else if (c === 0x7b) { if (capture) kind = 6; object(depth + 1, level); }
  else if (c === 0x5b) { if (capture) kind = 6; array(depth + 1); }
  else if (c === 0x74) {
    if (buf[i + 1] !== 0x72 || buf[i + 2] !== 0x75 || buf[i + 3] !== 0x65) throw BAD;
    i += 4; if (capture) kind = 3;
  } else if (c === 0x66) {
    if (buf[i + 1] !== 0x61 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x73 || buf[i + 4] !== 0x65) throw BAD;
    i += 5; if (capture) kind = 4;
  } else if (c === 0x6e) {
    if (buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) throw BAD;
    i += 4; if (capture) kind = 5;
  } else if (c === 0x4e) {
    if (buf[i + 1] !== 0x61 || buf[i + 2] !== 0x4e) throw BAD;
    i += 3; if (capture) { kind = 1; num = Number.NaN; }
  } else if (c === 0x49) { infinity(); if (capture) { kind = 1; num = Number.POSITIVE_INFINITY; } }
  else { const v = number(); if (capture) { kind = 1; num = v; } }
}
// level: the index of the path segment this object's keys are matched against, or -1.
function object(depth, level) {
  if (depth > 1000) throw BAD;
  i++; ws();
  if (buf[i] === 0x7d) { i++; return; }
  for (;;) {
    if (buf[i] !== 0x22) throw BAD;
    const ks = i + 1;
    const esc = str();
    const ke = i - 1;
    ws();
    if (buf[i] !== 0x3a) throw BAD;
    i++; ws();
    let hit = false;
    if (level >= 0) hit = esc ? JSON.parse(buf.toString("utf8", ks - 1, ke + 1)) === segStr[level] : keyIs(ks, ke, level);
    if (!hit) value(depth, -1, false);
    else if (level === D - 1) value(depth, -1, true);
    else {
      // A later duplicate of a parent key replaces the earlier one, as in JSON.parse.
      kind = 0;
      if (buf[i] === 0x7b) object(depth + 1, level + 1); else value(depth, -1, false);
    }
    ws();
    const c = buf[i];
    if (c === 0x2c) { i++; ws(); continue; }
    if (c === 0x7d) { i++; return; }
    throw BAD;
  }
}
function array(depth) {
  if (depth > 1000) throw BAD;
  i++; ws();
  if (buf[i] === 0x5d) { i++; return; }
  for (;;) {
    value(depth, -1, false);
    ws();
    const c = buf[i];
    if (c === 0x2c) { i++; ws(); continue; }
    if (c === 0x5d) { i++; return; }
    throw BAD;
  }
}
function line(s, e, lineNo) {
  i = s; ws();
  if (i === e) return;
  kind = 0;
  try {
    if (buf[i] !== 0x7b) throw BAD;
    object(0, 0);
    ws();
    if (i !== e) throw BAD;
  } catch (err) {
    if (err !== BAD && !(err instanceof RangeError)) throw err;
    invalid++;
    if (firstInvalid < 0) firstInvalid = lineNo;
    return;
  }
  rows++;
  if (kind === 0) { missing++; return; }
  if (kind === 5) { nulls++; if (firstNull < 0) firstNull = lineNo; if (where && matches(null)) matched++; return; }
  let v;
  if (kind === 1) v = num;
  else if (kind === 3) v = true;
  else if (kind === 4) v = false;
  else if (kind === 2) v = needStr ? (strEsc ? JSON.parse(buf.toString("utf8", strS, strE)) : buf.toString("utf8", strS + 1, strE - 1)) : "";
  else v = {};
  // Numbers are matched against where once, over all values, when the worker finishes.
  if (typeof v !== "number" && matches(v)) matched++;
  if (kind === 1) {
    push(v);
    if (!Number.isFinite(v)) { nonFinite++; if (firstNonFinite < 0) firstNonFinite = lineNo; }
  } else { nonNumeric++; if (firstNonNumeric < 0) firstNonNumeric = lineNo; }
}
// The WebAssembly scanner (wasm/jsonl.ts) reads the lines: it counts blank lines, absent fields
// and numbers itself and stores the numbers; every other line comes back as a record that this
// driver counts. Lines it cannot decide alone (an escaped key) are read by line() above, in the
// same memory.
const K_INVALID = 1, K_NULL = 3, K_NUMBER_TEXT = 5, K_STRING = 6, K_STRING_ESCAPED = 7, K_TRUE = 8,
  K_FALSE = 9, K_FALLBACK = 11, K_TOO_LONG = 12;
const wasm = new WebAssembly.Instance(workerData.wasm, { env: { abort() { throw new Error("the JSONL scanner stopped"); } } }).exports;
const memory = wasm.memory;
const RECORDS = 16384;
const VALUES = 1 << 20;
const CHUNK = 8 * 1024 * 1024;
const align = (x) => (x + 15) & ~15;
let at = align(wasm.heapBase());
const segTable = at; at = align(at + 8 * D);
const segData = at; at = align(at + segs.reduce((t, x) => t + x.length, 0));
const records = at; at = align(at + 16 * RECORDS);
const slots = at; at = align(at + 4 * RECORDS);
const valueArea = at; at = align(at + 8 * VALUES);
const inBase = at;
let u8, f64, u32;
function views() { u8 = new Uint8Array(memory.buffer); f64 = new Float64Array(memory.buffer); u32 = new Uint32Array(memory.buffer); buf = Buffer.from(memory.buffer); }
function ensure(bytes) {
  const need = inBase + bytes + 64;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  views();
}
ensure(2 * CHUNK);
{
  let o = segData;
  segs.forEach((seg, k) => { u32[(segTable >> 2) + 2 * k] = o; u32[(segTable >> 2) + 2 * k + 1] = seg.length; u8.set(seg, o); o += seg.length; });
}
wasm.configure(segTable, D, records, slots);
// Runs the scanner over [s, stop) of the buffer; returns where it stopped.
function scanLines(s, stop, limit, base) {
  wasm.scan(inBase + s, inBase + stop, limit, RECORDS, VALUES, maxLine, valueArea);
  const nv = wasm.valueCount.value, nr = wasm.recordCount.value;
  const first = n;
  if (n + nv > values.length) { let size = values.length * 2; while (size < n + nv) size *= 2; const nv2 = new Float64Array(size); nv2.set(values.subarray(0, n)); values = nv2; }
  values.set(f64.subarray(valueArea >> 3, (valueArea >> 3) + nv), n);
  n += nv;
  for (let q = 0; q < nr; q++) {
    const r = records + 16 * q;
    const kd = u8[r], lineNo = u32[(r >> 2) + 1], a = u32[(r >> 2) + 2], b = u32[(r >> 2) + 3];
    if (kd === K_INVALID) { invalid++; if (firstInvalid < 0) firstInvalid = lineNo; continue; }
    if (kd === K_TOO_LONG) throw { tooLong: base + (a - inBase) };
    if (kd === K_FALLBACK) { line(a, b, lineNo); continue; }
    rows++;
    if (kd === K_NULL) { nulls++; if (firstNull < 0) firstNull = lineNo; if (where && matches(null)) matched++; continue; }
    if (kd === K_NUMBER_TEXT) {
      const v = Number(buf.latin1Slice(a, b));
      values[first + u32[(slots >> 2) + q]] = v;
      if (v - v !== 0) { nonFinite++; if (firstNonFinite < 0 || lineNo < firstNonFinite) firstNonFinite = lineNo; }
      continue;
    }
    let v;
    if (kd === K_STRING) v = needStr ? buf.toString("utf8", a, b) : "";
    else if (kd === K_STRING_ESCAPED) v = needStr ? JSON.parse(buf.toString("utf8", a, b)) : "";
    else if (kd === K_TRUE) v = true;
    else if (kd === K_FALSE) v = false;
    else v = {};
    if (matches(v)) matched++;
    nonNumeric++; if (firstNonNumeric < 0) firstNonNumeric = lineNo;
  }
  return wasm.next.value - inBase;
}
function main() {
  const fd = openSync(file, "r");
  try {
    let have = 0;
    let base = start; // file offset of memory[inBase]
    let eof = false;
    // A line belongs to the worker whose range holds its first byte.
    let skipping = false;
    if (start > 0) {
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, start - 1);
      skipping = one[0] !== 0x0a;
    }
    for (;;) {
      if (!eof) {
        ensure(have + CHUNK);
        const got = readSync(fd, u8, inBase + have, CHUNK, base + have);
        if (got === 0) eof = true;
        have += got;
        if (base === 0 && wasm.lineNo.value === 0 && have >= 3 && u8[inBase] === 0xef && u8[inBase + 1] === 0xbb && u8[inBase + 2] === 0xbf)
          u8[inBase] = u8[inBase + 1] = u8[inBase + 2] = 0x20;
      }
      let s = 0;
      if (skipping) {
        const nl = u8.indexOf(0x0a, inBase);
        if (nl < 0 || nl >= inBase + have) { if (eof) return; base += have; have = 0; continue; }
        s = nl + 1 - inBase; skipping = false;
      }
      // Whole lines only; at the end of the file the last line gets a newline.
      let stop = u8.lastIndexOf(0x0a, inBase + have - 1) + 1 - inBase;
      if (stop <= s) stop = s;
      if (eof && have > stop) { u8[inBase + have] = 0x0a; stop = have + 1; }
      const limit = Math.min(inBase + (end - base), 0xffffffff);
      while (s < stop && inBase + s < limit) s = scanLines(s, stop, limit, base);
      if (inBase + s >= limit || eof) return;
      if (have - s > maxLine) throw { tooLong: base + s };
      u8.copyWithin(inBase, inBase + s, inBase + have);
      base += s; have -= s;
    }
  } finally { closeSync(fd); }
}
try {
  main();
  const out = values.slice(0, n);
  // The scanner's own counts join the driver's; with where, numbers that match are counted here.
  lines = wasm.lineNo.value;
  rows += wasm.rows.value;
  missing += wasm.missing.value;
  nonFinite += wasm.nonFinite.value;
  const wf = wasm.firstNonFinite.value;
  if (wf >= 0 && (firstNonFinite < 0 || wf < firstNonFinite)) firstNonFinite = wf;
  if (where) for (let k = 0; k < n; k++) if (matches(out[k])) matched++;
  parentPort.postMessage({ values: out, rows, lines, missing, nulls, nonNumeric, nonFinite, matched, invalid, firstInvalid, firstNull, firstNonNumeric, firstNonFinite }, [out.buffer]);
} catch (err) {
  parentPort.postMessage(err && err.tooLong !== undefined ? { tooLong: err.tooLong } : { error: String((err && err.message) || err) });
}
`;

const CSV_WORKER = `
${WORKER_PRELUDE}
const { column, maxField } = workerData;
const NUMBER = /^[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;
const NULL = /^(?:|null|none|na|n[/]a)$/i;
// A cell as a typed value: a number (strict decimal syntax; nan/inf as Python and NumPy write
// them), a boolean, null (empty, NA, null, None), or text ("1,250", "1_000" and "0x10" are text).
function typed(cell) {
  const t = cell.trim();
  if (NULL.test(t)) return null;
  if (NUMBER.test(t)) return Number(t);
  const sp = SPECIAL.exec(t);
  if (sp) return sp[2].toLowerCase() === "nan" ? Number.NaN : sp[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const l = t.toLowerCase();
  if (l === "true") return true;
  if (l === "false") return false;
  return t;
}
let buf = Buffer.allocUnsafe(16 * 1024 * 1024);
let have = 0, eof = false, base = 0;
const fd = openSync(file, "r");
function fill() {
  const CHUNK = 8 * 1024 * 1024;
  if (have + CHUNK > buf.length) { const nb = Buffer.allocUnsafe((have + CHUNK) * 2); buf.copy(nb, 0, 0, have); buf = nb; }
  const got = readSync(fd, buf, have, CHUNK, base + have);
  if (got === 0) eof = true;
  have += got;
}
const INCOMPLETE = { incomplete: true };
let header = null, idx = -1;
// One RFC 4180 record from s: fields split by commas, ended by LF or CRLF; a quoted field may hold
// commas, doubled quotes and newlines. Returns the end offset, the cell count, the wanted cell and
// the newlines inside, or an error text for a record that breaks the format.
function record(s) {
  let i = s, cells = 0, cell = null, err = "", nl = 0;
  const all = header === null ? [] : null;
  for (;;) {
    let text = "";
    const need = all !== null || cells === idx;
    if (buf[i] === 0x22) {
      const q0 = i;
      i++;
      let parts = "", from = i;
      for (;;) {
        if (i >= have) { if (!eof) throw INCOMPLETE; err = "a quote that is never closed (from line " + (lines + 1) + ")"; break; }
        const c = buf[i];
        if (c === 0x22) {
          if (buf[i + 1] === 0x22 && i + 1 < have) { if (need) parts += buf.toString("utf8", from, i + 1); i += 2; from = i; continue; }
          if (i + 1 >= have && !eof) throw INCOMPLETE;
          break;
        }
        if (c === 0x0a) nl++;
        i++;
        if (i - q0 > maxField) throw { tooLong: base + s, field: true };
      }
      if (err) return { end: have, cells, cell, err, nl };
      if (need) text = parts + buf.toString("utf8", from, i);
      i++;
      const c = buf[i];
      if (i < have && c !== 0x2c && c !== 0x0a && !(c === 0x0d && buf[i + 1] === 0x0a)) err = "text after a closing quote";
    } else {
      const f0 = i;
      while (i < have) { const c = buf[i]; if (c === 0x2c || c === 0x0a) break; if (c === 0x22) err = "a quote inside an unquoted field"; i++; }
      if (i >= have && !eof) throw INCOMPLETE;
      if (i - f0 > maxField) throw { tooLong: base + s, field: true };
      let fe = i;
      if (fe > f0 && buf[fe - 1] === 0x0d && (i >= have || buf[i] === 0x0a)) fe--;
      if (need) text = buf.toString("utf8", f0, fe);
    }
    if (err) {
      // The record ends at the next newline.
      while (i < have && buf[i] !== 0x0a) i++;
      if (i >= have && !eof) throw INCOMPLETE;
      return { end: i + 1, cells, cell, err, nl };
    }
    if (all) all.push(text);
    if (cells === idx) cell = text;
    cells++;
    if (i - s > maxLine) throw { tooLong: base + s };
    if (i >= have) return { end: have, cells, cell, err, nl, all };
    if (buf[i] === 0x0d) i++;
    if (buf[i] === 0x0a) return { end: i + 1, cells, cell, err, nl, all };
    i++; // a comma
  }
}
function run() {
  fill();
  if (have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) { buf.copy(buf, 0, 3, have); have -= 3; base += 3; }
  let s = 0;
  for (;;) {
    if (s >= have) { if (eof) return; base += s; have = 0; s = 0; fill(); continue; }
    let r;
    try { r = record(s); }
    catch (x) {
      if (x !== INCOMPLETE) throw x;
      if (have - s > maxLine) throw { tooLong: base + s };
      buf.copy(buf, 0, s, have); base += s; have -= s; s = 0; fill();
      continue;
    }
    const lineNo = lines + 1;
    lines += 1 + r.nl;
    const blank = buf[s] === 0x0a || (buf[s] === 0x0d && buf[s + 1] === 0x0a);
    s = r.end;
    if (blank) continue;
    if (header === null) {
      if (r.err) throw { badHeader: r.err };
      header = r.all.map((h) => h.trim());
      idx = header.indexOf(column);
      if (idx < 0) throw { missingColumn: header };
      continue;
    }
    if (r.err || r.cells !== header.length) {
      invalid++;
      if (firstInvalid < 0) { firstInvalid = lineNo; invalidReason = r.err || (r.cells + " cells where the header has " + header.length); }
      continue;
    }
    rows++;
    const v = typed(r.cell);
    if (matches(v)) matched++;
    if (v === null) { nulls++; if (firstNull < 0) firstNull = lineNo; }
    else if (typeof v === "number") { push(v); if (!Number.isFinite(v)) { nonFinite++; if (firstNonFinite < 0) firstNonFinite = lineNo; } }
    else { nonNumeric++; if (firstNonNumeric < 0) firstNonNumeric = lineNo; }
  }
}
try {
  try { run(); } finally { closeSync(fd); }
  if (header === null) throw { missingColumn: [] };
  const out = values.slice(0, n);
  parentPort.postMessage({ values: out, rows, lines, missing, nulls, nonNumeric, nonFinite, matched, invalid, firstInvalid, firstNull, firstNonNumeric, firstNonFinite, invalidReason }, [out.buffer]);
} catch (err) {
  if (err && (err.tooLong !== undefined || err.missingColumn || err.badHeader)) parentPort.postMessage(err);
  else parentPort.postMessage({ error: String((err && err.message) || err) });
}
`;

type WorkerResult = Omit<
  Extracted,
  "firstInvalidLine" | "firstNullLine" | "firstNonNumericLine" | "firstNonFiniteLine"
> & {
  lines: number;
  firstInvalid: number;
  firstNull: number;
  firstNonNumeric: number;
  firstNonFinite: number;
  invalidReason?: string;
};
type WorkerMessage =
  | WorkerResult
  | { error: string }
  | { tooLong: number; field?: boolean }
  | { missingColumn: string[] }
  | { badHeader: string };

function sizeText(bytes: number): string {
  return bytes >= MiB ? `${Math.round(bytes / MiB)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Run the scanner workers over byte ranges and merge their counts, with one deadline for all:
 * on timeout every worker is terminated (a regex that backtracks cannot hang the run).
 */
async function runWorkers(
  source: string,
  file: string,
  ranges: Array<[number, number]>,
  data: Record<string, unknown>,
  options: ExtractOptions,
  what: { column?: string },
): Promise<Extracted> {
  const timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 2 ** 31 - 1);
  const maxLine = options.maxLineBytes ?? 64 * MiB;
  const workers: Worker[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const parts = await Promise.race([
      Promise.all(
        ranges.map(
          ([start, end]) =>
            new Promise<WorkerResult>((resolve, reject) => {
              const w = new Worker(source, {
                eval: true,
                execArgv: [],
                workerData: {
                  file,
                  start,
                  end,
                  maxLine,
                  maxField: options.maxFieldBytes ?? 16 * MiB,
                  where: options.where,
                  ...data,
                },
              });
              workers.push(w);
              w.once("message", (m: WorkerMessage) => {
                if ("tooLong" in m)
                  reject(
                    new ExtractError(
                      `${m.field ? "a field" : "a line"} starting at byte ${m.tooLong} is longer than ${sizeText(m.field ? (options.maxFieldBytes ?? 16 * MiB) : maxLine)}`,
                      "GPUCI_LINE_TOO_LONG",
                      "Write one record per line (a metric row is small); if the file really has lines this long, it is not a metric file.",
                    ),
                  );
                else if ("missingColumn" in m)
                  reject(new MissingColumnError(what.column ?? "", m.missingColumn));
                else if ("badHeader" in m)
                  reject(
                    new ExtractError(
                      `the header row is not valid CSV: ${m.badHeader}`,
                      "GPUCI_CSV_HEADER",
                      "Write the file with a CSV writer (Python's csv module, pandas to_csv).",
                    ),
                  );
                else if ("error" in m)
                  reject(new ExtractError(m.error, "GPUCI_READ_FAILED", "Check that the file is readable."));
                else resolve(m);
              });
              w.once("error", (error) =>
                reject(
                  new ExtractError(error.message, "GPUCI_READ_FAILED", "Check that the file is readable."),
                ),
              );
            }),
        ),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ExtractError(
                `reading took longer than ${Math.round(timeoutMs / 1000)} s`,
                "GPUCI_READ_TIMEOUT",
                options.where?.matches !== undefined
                  ? `The where.matches regular expression may backtrack (nested quantifiers such as (a+)+); simplify it, or raise metric.timeoutSeconds.`
                  : "The file is very large or the disk is slow; raise metric.timeoutSeconds.",
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
    return mergeParts(parts);
  } finally {
    clearTimeout(timer);
    for (const w of workers) void w.terminate();
  }
}

function mergeParts(parts: WorkerResult[]): Extracted {
  const total = parts.reduce((s, p) => s + p.values.length, 0);
  const values = new Float64Array(total);
  let o = 0;
  for (const p of parts) {
    values.set(p.values, o);
    o += p.values.length;
  }
  // Each worker numbers its own lines; the absolute number adds the lines of the ranges before it.
  const first = (
    key: "firstInvalid" | "firstNull" | "firstNonNumeric" | "firstNonFinite",
  ): number | undefined => {
    let before = 0;
    for (const p of parts) {
      if (p[key] >= 0) return before + p[key];
      before += p.lines;
    }
    return undefined;
  };
  const sum = (key: "rows" | "missing" | "nulls" | "nonNumeric" | "nonFinite" | "matched" | "invalid") =>
    parts.reduce((s, p) => s + p[key], 0);
  const out: Extracted = {
    values,
    rows: sum("rows"),
    missing: sum("missing"),
    nulls: sum("nulls"),
    nonNumeric: sum("nonNumeric"),
    nonFinite: sum("nonFinite"),
    matched: sum("matched"),
    invalid: sum("invalid"),
  };
  const lines = {
    firstInvalidLine: first("firstInvalid"),
    firstNullLine: first("firstNull"),
    firstNonNumericLine: first("firstNonNumeric"),
    firstNonFiniteLine: first("firstNonFinite"),
  };
  for (const [k, v] of Object.entries(lines))
    if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
  const reason = parts.find((p) => p.invalidReason)?.invalidReason;
  if (reason) out.invalidReason = reason;
  return out;
}

/**
 * Extract one field of every line of a JSON-lines file, in parallel over byte ranges (one worker
 * per core for files over 8 MiB). Each line is validated as JSON.parse would (NaN and Infinity
 * allowed as values); memory is 8 bytes per numeric row, never whole objects.
 */
export async function extractJsonl(
  file: string,
  field: string,
  options: ExtractOptions = {},
): Promise<Extracted> {
  const size = (await stat(file)).size;
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), size > 8 * MiB ? 16 : 1));
  const bounds = Array.from({ length: workers + 1 }, (_, i) => Math.floor((size * i) / workers));
  const ranges = bounds.slice(0, -1).map((start, i) => [start, bounds[i + 1]!] as [number, number]);
  return runWorkers(JSONL_WORKER, file, ranges, { field, wasm: jsonlScanner() }, options, {});
}

/**
 * Extract one column of a CSV file (RFC 4180: a header row, quoted fields with commas, doubled
 * quotes and newlines), in one worker thread with the same bounds as JSONL.
 */
export async function extractCsv(
  file: string,
  column: string,
  options: ExtractOptions = {},
): Promise<Extracted> {
  return runWorkers(CSV_WORKER, file, [[0, Number.MAX_SAFE_INTEGER]], { column }, options, { column });
}
