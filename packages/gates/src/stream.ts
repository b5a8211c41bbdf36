import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";

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

/** What was extracted from one column/field of a file, in bounded memory (8 bytes a numeric row). */
export interface Extracted {
  /** Numeric values (NaN and ±Infinity included as such). */
  values: Float64Array;
  rows: number;
  /** Rows without the field (or with null). */
  missing: number;
  /** Rows whose field is not a number (strings, objects); booleans count as 1/0 for rate only. */
  nonNumeric: number;
  /** Rows that count for `rate`: the field is true, or it matches `where`. */
  matched: number;
  /** Lines that are not valid JSON / CSV rows. */
  invalid: number;
  /** First invalid line number, for the remedy. */
  firstInvalidLine?: number;
}

// The JSONL scanner runs in worker threads; it is plain JavaScript in a string so it works from
// source, from the built package and inside a single-file bundle. It finds `"field"` by byte
// search and parses the value in place, without building each line's object; a line where the
// key might be nested (a `{` or `[` before it) falls back to JSON.parse for that line.
const JSONL_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { file, start, end, field, where } = workerData;
const nested = field.includes(".");
const pat = Buffer.from(JSON.stringify(field));
const re = where && where.matches !== undefined ? new RegExp(where.matches) : null;
let values = new Float64Array(1 << 16), n = 0;
let rows = 0, missing = 0, nonNumeric = 0, matched = 0, invalid = 0, firstInvalid = -1;
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
function record(v) {
  if (v === undefined || v === null) { missing++; return; }
  if (matches(v)) matched++;
  if (typeof v === "number") push(v); else nonNumeric++;
}
function slow(buf, s, e, lineNo) {
  let obj;
  try { obj = JSON.parse(buf.toString("utf8", s, e).replace(/\\bNaN\\b/g, '"__NaN__"').replace(/-Infinity\\b/g, '"__-Inf__"').replace(/\\bInfinity\\b/g, '"__Inf__"')); }
  catch { invalid++; rows--; if (firstInvalid < 0) firstInvalid = lineNo; return; }
  let v = obj;
  for (const k of field.split(".")) v = v && typeof v === "object" ? v[k] : undefined;
  if (v === "__NaN__") v = NaN; else if (v === "__Inf__") v = Infinity; else if (v === "__-Inf__") v = -Infinity;
  if (v !== null && typeof v === "object") { nonNumeric++; return; }
  record(v);
}
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
function parseValue(buf, v, e) {
  const c = buf[v];
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    let i = v, neg = false, x = 0;
    if (c === 0x2d) { neg = true; i++; if (buf[i] === 0x49) return -Infinity; }
    const s0 = i;
    // All digits into one integer, then one division by an exact power of ten: correctly
    // rounded, so values equal Number()'s exactly (more than 15 digits go through Number()).
    let digits = 0, scale = 0;
    while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) { x = x * 10 + (buf[i] - 0x30); i++; digits++; }
    if (buf[i] === 0x2e) {
      i++;
      while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) { x = x * 10 + (buf[i] - 0x30); i++; digits++; scale++; }
      if (scale > 0) x = x / POW10[scale];
    }
    if (buf[i] === 0x65 || buf[i] === 0x45 || digits > 15 || scale > 22) {
      let j = i; while (j < e && buf[j] !== 0x2c && buf[j] !== 0x7d && buf[j] !== 0x20 && buf[j] !== 0x5d) j++;
      return Number(buf.latin1Slice(v, j));
    }
    return neg ? -x : x;
  }
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  if (c === 0x6e) return null;
  if (c === 0x4e) return NaN;
  if (c === 0x49) return Infinity;
  if (c === 0x22) {
    let j = v + 1, esc = false;
    while (j < e && buf[j] !== 0x22) { if (buf[j] === 0x5c) { esc = true; j++; } j++; }
    return esc ? JSON.parse(buf.toString("utf8", v, j + 1)) : buf.toString("utf8", v + 1, j);
  }
  return { object: true };
}
const fd = openSync(file, "r");
const CHUNK = 8 * 1024 * 1024;
let buf = Buffer.allocUnsafe(CHUNK * 2);
let have = 0, lineNo = 0;
// Start one byte early and skip through the first newline: a line belongs to the worker whose
// range holds its first byte.
let pos = start > 0 ? start - 1 : 0;
let skipFirst = start > 0;
function grow(need) { if (need > buf.length) { const nb = Buffer.allocUnsafe(need * 2); buf.copy(nb, 0, 0, have); buf = nb; } }
function hasByte(b, from, to) { for (let i = from; i < to; i++) if (buf[i] === b) return true; return false; }
let done = false;
while (!done) {
  const want = Math.min(CHUNK, end - pos);
  if (want > 0) { grow(have + want); const got = readSync(fd, buf, have, want, pos); pos += got; have += got; if (got === 0) done = true; }
  else done = true;
  if (done && have > 0 && buf[have - 1] !== 0x0a) {
    // Finish the line that straddles the end of our range, and nothing more.
    const one = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const k = readSync(fd, one, 0, one.length, pos);
      if (k === 0) break;
      const nl = one.indexOf(0x0a);
      const take = nl >= 0 && nl < k ? nl + 1 : k;
      grow(have + take); one.copy(buf, have, 0, take); have += take; pos += take;
      if (take < k || (nl >= 0 && nl < k)) break;
    }
  }
  let s = 0;
  if (skipFirst) {
    const nl = buf.indexOf(0x0a, 0);
    if (nl < 0 || nl >= have) { if (done) break; continue; }
    s = nl + 1; skipFirst = false;
  }
  let nextMatch = -1;
  for (;;) {
    let e = buf.indexOf(0x0a, s);
    if (e < 0 || e >= have) { if (!done) break; e = have; if (s >= e) break; }
    lineNo++;
    let ls = s; while (ls < e && (buf[ls] === 0x20 || buf[ls] === 0x09 || buf[ls] === 0x0d)) ls++;
    let le = e; while (le > ls && (buf[le - 1] === 0x20 || buf[le - 1] === 0x0d || buf[le - 1] === 0x09)) le--;
    if (ls < le) {
      if (buf[ls] !== 0x7b) { invalid++; if (firstInvalid < 0) firstInvalid = lineNo; }
      else {
        rows++;
        if (nested) slow(buf, ls, le, lineNo);
        else {
          if (nextMatch < ls) nextMatch = buf.indexOf(pat, ls);
          let handled = false;
          while (nextMatch >= 0 && nextMatch < le) {
            let k = nextMatch + pat.length;
            while (buf[k] === 0x20) k++;
            if (buf[k] === 0x3a) {
              if (!hasByte(0x7b, ls + 1, nextMatch) && !hasByte(0x5b, ls, nextMatch)) {
                k++; while (buf[k] === 0x20) k++;
                record(parseValue(buf, k, le));
              } else slow(buf, ls, le, lineNo);
              handled = true;
              break;
            }
            nextMatch = buf.indexOf(pat, nextMatch + 1);
          }
          if (!handled) {
            if (hasByte(0x7b, ls + 1, le) || buf[le - 1] !== 0x7d) slow(buf, ls, le, lineNo);
            else missing++;
          }
        }
      }
    }
    s = e + 1;
    if (s >= have) break;
  }
  if (done) break;
  if (s > have) s = have;
  buf.copy(buf, 0, s, have); have -= s;
}
closeSync(fd);
const out = values.slice(0, n);
parentPort.postMessage({ values: out, rows, missing, nonNumeric, matched, invalid, firstInvalid }, [out.buffer]);
`;

/**
 * Extract one field of every line of a JSON-lines file, in parallel over byte ranges (one
 * worker per core for files over 8 MiB). Memory: 8 bytes per numeric row, never whole objects.
 */
export async function extractJsonl(
  file: string,
  field: string,
  options: { where?: Where; workers?: number } = {},
): Promise<Extracted> {
  const size = (await stat(file)).size;
  const workers = Math.max(
    1,
    Math.min(options.workers ?? availableParallelism(), size > 8 * 1024 * 1024 ? 16 : 1),
  );
  const bounds = Array.from({ length: workers + 1 }, (_, i) => Math.floor((size * i) / workers));
  const parts = await Promise.all(
    bounds.slice(0, -1).map(
      (start, i) =>
        new Promise<Extracted>((resolve, reject) => {
          const w = new Worker(JSONL_WORKER, {
            eval: true,
            execArgv: [],
            workerData: { file, start, end: bounds[i + 1], field, where: options.where },
          });
          w.once("message", (m: Extracted & { firstInvalid: number }) => {
            resolve({ ...m, ...(m.firstInvalid >= 0 ? { firstInvalidLine: m.firstInvalid } : {}) });
            void w.terminate();
          });
          w.once("error", reject);
        }),
    ),
  );
  return mergeExtracted(parts);
}

function mergeExtracted(parts: Extracted[]): Extracted {
  const total = parts.reduce((s, p) => s + p.values.length, 0);
  const values = new Float64Array(total);
  let o = 0;
  for (const p of parts) {
    values.set(p.values, o);
    o += p.values.length;
  }
  const first = parts.find((p) => p.firstInvalidLine !== undefined);
  return {
    values,
    rows: parts.reduce((s, p) => s + p.rows, 0),
    missing: parts.reduce((s, p) => s + p.missing, 0),
    nonNumeric: parts.reduce((s, p) => s + p.nonNumeric, 0),
    matched: parts.reduce((s, p) => s + p.matched, 0),
    invalid: parts.reduce((s, p) => s + p.invalid, 0),
    ...(first?.firstInvalidLine !== undefined ? { firstInvalidLine: first.firstInvalidLine } : {}),
  };
}

/** Split one CSV line, honouring double quotes ("a,b" and "" escapes). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function matchesWhere(v: string | number | boolean | null, where: Where | undefined): boolean {
  if (!where) return v === true;
  if (where.eq !== undefined && v !== where.eq) return false;
  if (where.ne !== undefined && v === where.ne) return false;
  if (where.gt !== undefined && !(typeof v === "number" && v > where.gt)) return false;
  if (where.gte !== undefined && !(typeof v === "number" && v >= where.gte)) return false;
  if (where.lt !== undefined && !(typeof v === "number" && v < where.lt)) return false;
  if (where.lte !== undefined && !(typeof v === "number" && v <= where.lte)) return false;
  if (where.matches !== undefined && !(typeof v === "string" && new RegExp(where.matches).test(v)))
    return false;
  return true;
}

/** Thrown when a CSV has no such column. */
export class MissingColumnError extends Error {
  constructor(
    readonly column: string,
    readonly header: string[],
  ) {
    super(`no column "${column}" (columns: ${header.join(", ")})`);
  }
}

/** Extract one column of a CSV file (header row first), streamed line by line. */
export async function extractCsv(
  file: string,
  column: string,
  options: { where?: Where } = {},
): Promise<Extracted> {
  const rl = createInterface({
    input: createReadStream(file, { highWaterMark: 1 << 20 }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let header: string[] | undefined;
  let idx = -1;
  let values = new Float64Array(1024);
  let n = 0;
  const out: Extracted = { values, rows: 0, missing: 0, nonNumeric: 0, matched: 0, invalid: 0 };
  let lineNo = 0;
  for await (const raw of rl) {
    lineNo++;
    const line = raw.trimEnd();
    if (line === "") continue;
    const cells = splitCsvLine(line);
    if (!header) {
      header = cells.map((c) => c.trim().replace(/^\uFEFF/, ""));
      idx = header.indexOf(column);
      if (idx < 0) {
        rl.close();
        throw new MissingColumnError(column, header);
      }
      continue;
    }
    out.rows++;
    if (cells.length !== header.length) {
      out.invalid++;
      out.firstInvalidLine ??= lineNo;
      continue;
    }
    const cell = cells[idx]!.trim();
    if (cell === "" || /^(null|none|na|n\/a)$/i.test(cell)) {
      out.missing++;
      continue;
    }
    let v: string | number | boolean = cell;
    if (/^(true|false)$/i.test(cell)) v = cell.toLowerCase() === "true";
    else {
      const num = /^[+-]?(nan|inf|infinity)$/i.test(cell)
        ? Number(cell.replace(/^([+-]?)inf$/i, "$1Infinity").replace(/^([+-]?)nan$/i, "NaN"))
        : Number(cell);
      if (!Number.isNaN(num) || /nan/i.test(cell)) v = num;
    }
    if (matchesWhere(v, options.where)) out.matched++;
    if (typeof v === "number") {
      if (n === values.length) {
        const nv = new Float64Array(values.length * 2);
        nv.set(values);
        values = nv;
      }
      values[n++] = v;
    } else out.nonNumeric++;
  }
  out.values = values.slice(0, n);
  return out;
}
