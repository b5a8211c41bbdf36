// The JSONL line scanner of @gpuci/gates, in AssemblyScript (compiled to WebAssembly with SIMD by
// `npm run build:wasm -w packages/gates`). It accepts exactly what JSON.parse accepts, plus NaN,
// Infinity and -Infinity as values (Python's json.dump), builds nothing, and keeps the last value
// of the field (JSON.parse keeps the last of duplicate keys). The JavaScript worker in
// src/stream.ts lays out memory, reads the file into it, and turns the per-line results into
// counts; lines this scanner cannot decide alone (an escaped key) come back as FALLBACK and are
// read by the JavaScript scanner there.

// Per-line result kinds (kept in step with KIND_* in src/stream.ts).
const BLANK: u8 = 0;
const INVALID: u8 = 1;
const MISSING: u8 = 2;
const NULL: u8 = 3;
const NUMBER: u8 = 4; // counted and stored by the scanner
const NUMBER_TEXT: u8 = 5; // JS reads Number(text[a, b))
const STRING: u8 = 6; // content [a, b), no escapes
const STRING_ESCAPED: u8 = 7; // [a, b) with the quotes: JS runs JSON.parse
const TRUE: u8 = 8;
const FALSE: u8 = 9;
const COMPOSITE: u8 = 10; // an object or an array
const FALLBACK: u8 = 11; // [a, b) is the line: JS decides
const TOO_LONG: u8 = 12; // [a, b) is the line

let segTable: usize = 0; // per segment: u32 offset, u32 length
let segCount: i32 = 0;
let outKind: usize = 0;
let outA: usize = 0;

// The captured field of the current line.
let kind: u8 = 0;
let num: f64 = 0;
let capA: usize = 0;
let capB: usize = 0;
let fallback = false;
let strEsc = false;

/** Where the module's own data ends: the worker lays out its buffers above this. */
export function heapBase(): usize {
  return __heap_base;
}

/** Tell the scanner where the field path, the records (16 bytes each) and their value slots are. */
export function configure(segs: usize, count: i32, records: usize, slots: usize): void {
  segTable = segs;
  segCount = count;
  outKind = records;
  outA = slots;
}

const ERR: usize = 0; // positions are never 0: the input lives above the heap base

@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0d;
}

@inline function ws(i: usize): usize {
  while (isWs(load<u8>(i))) i++;
  return i;
}

/** The first newline at or after i (the caller guarantees one before the padding ends). */
function findNewline(i: usize): usize {
  const nl = i8x16.splat(0x0a);
  while (true) {
    const bits = i8x16.bitmask(i8x16.eq(v128.load(i), nl));
    if (bits != 0) return i + <usize>ctz(bits);
    i += 16;
  }
}

@inline function hex(c: u32): bool {
  return (c - 0x30 < 10) || ((c | 0x20) - 0x61 < 6);
}

/** A string from its opening quote; returns the position after the closing quote, or ERR. */
function str(i: usize): usize {
  const q = i8x16.splat(0x22);
  const bs = i8x16.splat(0x5c);
  const sp = i8x16.splat(0x20);
  let esc = false;
  i++;
  while (true) {
    // 16 bytes at a time to the first quote, backslash or control character; the line's
    // newline is a control character, so a string never runs past its line.
    const v = v128.load(i);
    const bits = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, q), i8x16.eq(v, bs)), i8x16.lt_u(v, sp)));
    if (bits == 0) {
      i += 16;
      continue;
    }
    i += <usize>ctz(bits);
    const c = <u32>load<u8>(i);
    if (c == 0x22) {
      strEsc = esc;
      return i + 1;
    }
    if (c == 0x5c) {
      esc = true;
      const d = <u32>load<u8>(i + 1);
      if (d == 0x75) {
        if (!(hex(load<u8>(i + 2)) && hex(load<u8>(i + 3)) && hex(load<u8>(i + 4)) && hex(load<u8>(i + 5)))) return ERR;
        i += 6;
      } else if (d == 0x22 || d == 0x5c || d == 0x2f || d == 0x62 || d == 0x66 || d == 0x6e || d == 0x72 || d == 0x74) i += 2;
      else return ERR;
      continue;
    }
    return ERR; // a control character
  }
}

const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
  1e18, 1e19, 1e20, 1e21, 1e22,
];

let numText = false;

@inline function infinity(i: usize): bool {
  return load<u8>(i + 1) == 0x6e && load<u8>(i + 2) == 0x66 && load<u8>(i + 3) == 0x69 && load<u8>(i + 4) == 0x6e &&
    load<u8>(i + 5) == 0x69 && load<u8>(i + 6) == 0x74 && load<u8>(i + 7) == 0x79;
}

/** A number; returns the position after it or ERR, with its value in `parsed` (or numText). */
let parsed: f64 = 0;
function number(i: usize): usize {
  let neg = false;
  numText = false;
  if (load<u8>(i) == 0x2d) {
    neg = true;
    i++;
    if (load<u8>(i) == 0x49) {
      if (!infinity(i)) return ERR;
      parsed = -Infinity;
      return i + 8;
    }
  }
  let c = <u32>load<u8>(i);
  // Digits accumulate as an integer (exact up to 15 digits; more are read by Number()).
  let x: u64 = 0;
  let digits = 0;
  let scale = 0;
  if (c == 0x30) {
    i++;
    digits = 1;
    c = load<u8>(i);
  } else if (c - 0x31 < 9) {
    do {
      x = x * 10 + <u64>(c - 0x30);
      digits++;
      c = load<u8>(++i);
    } while (c - 0x30 < 10);
  } else return ERR;
  if (c == 0x2e) {
    c = load<u8>(++i);
    if (!(c - 0x30 < 10)) return ERR;
    do {
      x = x * 10 + <u64>(c - 0x30);
      digits++;
      scale++;
      c = load<u8>(++i);
    } while (c - 0x30 < 10);
  }
  if (c == 0x65 || c == 0x45) {
    c = load<u8>(++i);
    if (c == 0x2b || c == 0x2d) c = load<u8>(++i);
    if (!(c - 0x30 < 10)) return ERR;
    do c = load<u8>(++i);
    while (c - 0x30 < 10);
    numText = true;
  }
  // Up to 15 digits are an exact integer and one division by an exact power of ten is correctly
  // rounded, as in the JavaScript scanner; anything else is read by Number() in JavaScript.
  if (digits > 15 || scale > 22) numText = true;
  if (!numText) {
    let v = <f64>x;
    if (scale > 0) v = v / unchecked(POW10[scale]);
    parsed = neg ? -v : v;
  }
  return i;
}

/** A number's grammar only, for values that are not the field: no arithmetic. */
function skipNumber(i: usize): usize {
  if (load<u8>(i) == 0x2d) {
    i++;
    if (load<u8>(i) == 0x49) return infinity(i) ? i + 8 : ERR;
  }
  let c = <u32>load<u8>(i);
  if (c == 0x30) c = load<u8>(++i);
  else if (c - 0x31 < 9) {
    do c = load<u8>(++i);
    while (c - 0x30 < 10);
  } else return ERR;
  if (c == 0x2e) {
    c = load<u8>(++i);
    if (!(c - 0x30 < 10)) return ERR;
    do c = load<u8>(++i);
    while (c - 0x30 < 10);
  }
  if (c == 0x65 || c == 0x45) {
    c = load<u8>(++i);
    if (c == 0x2b || c == 0x2d) c = load<u8>(++i);
    if (!(c - 0x30 < 10)) return ERR;
    do c = load<u8>(++i);
    while (c - 0x30 < 10);
  }
  return i;
}

@inline function keyIs(s: usize, e: usize, level: i32): bool {
  const off = <usize>load<u32>(segTable + (<usize>level << 3));
  const len = <usize>load<u32>(segTable + (<usize>level << 3) + 4);
  return e - s == len && memory.compare(s, off, len) == 0;
}

/** One value; with capture, it becomes the field's value. */
function value(i: usize, depth: i32, capture: bool): usize {
  const c = <u32>load<u8>(i);
  if (c == 0x22) {
    const s = i;
    i = str(i);
    if (i == ERR) return ERR;
    if (capture) {
      if (strEsc) {
        kind = STRING_ESCAPED;
        capA = s;
        capB = i;
      } else {
        kind = STRING;
        capA = s + 1;
        capB = i - 1;
      }
    }
    return i;
  }
  if (c == 0x7b) {
    if (capture) kind = COMPOSITE;
    return object(i, depth + 1, -1);
  }
  if (c == 0x5b) {
    if (capture) kind = COMPOSITE;
    return array(i, depth + 1);
  }
  if (c == 0x74) {
    if (load<u8>(i + 1) != 0x72 || load<u8>(i + 2) != 0x75 || load<u8>(i + 3) != 0x65) return ERR;
    if (capture) kind = TRUE;
    return i + 4;
  }
  if (c == 0x66) {
    if (load<u8>(i + 1) != 0x61 || load<u8>(i + 2) != 0x6c || load<u8>(i + 3) != 0x73 || load<u8>(i + 4) != 0x65)
      return ERR;
    if (capture) kind = FALSE;
    return i + 5;
  }
  if (c == 0x6e) {
    if (load<u8>(i + 1) != 0x75 || load<u8>(i + 2) != 0x6c || load<u8>(i + 3) != 0x6c) return ERR;
    if (capture) kind = NULL;
    return i + 4;
  }
  if (c == 0x4e) {
    if (load<u8>(i + 1) != 0x61 || load<u8>(i + 2) != 0x4e) return ERR;
    if (capture) {
      kind = NUMBER;
      num = NaN;
    }
    return i + 3;
  }
  if (c == 0x49) {
    if (!infinity(i)) return ERR;
    if (capture) {
      kind = NUMBER;
      num = Infinity;
    }
    return i + 8;
  }
  if (!capture) return skipNumber(i);
  const s = i;
  i = number(i);
  if (i == ERR) return ERR;
  if (capture) {
    if (numText) {
      kind = NUMBER_TEXT;
      capA = s;
      capB = i;
    } else {
      kind = NUMBER;
      num = parsed;
    }
  }
  return i;
}

/** An object; level is the path segment its keys are matched against, or -1. */
function object(i: usize, depth: i32, level: i32): usize {
  if (depth > 1000) return ERR;
  i = ws(i + 1);
  if (load<u8>(i) == 0x7d) return i + 1;
  while (true) {
    if (load<u8>(i) != 0x22) return ERR;
    const ks = i + 1;
    i = str(i);
    if (i == ERR) return ERR;
    const ke = i - 1;
    const escaped = strEsc;
    i = ws(i);
    if (load<u8>(i) != 0x3a) return ERR;
    i = ws(i + 1);
    let hit = false;
    if (level >= 0) {
      // An escaped key needs decoding to compare: the JavaScript scanner reads this line.
      if (escaped) fallback = true;
      else hit = keyIs(ks, ke, level);
    }
    if (!hit) i = value(i, depth, false);
    else if (level == segCount - 1) i = value(i, depth, true);
    else {
      // A later duplicate of a parent key replaces the earlier one, as in JSON.parse.
      kind = MISSING;
      if (load<u8>(i) == 0x7b) i = object(i, depth + 1, level + 1);
      else i = value(i, depth, false);
    }
    if (i == ERR) return ERR;
    i = ws(i);
    const c = load<u8>(i);
    if (c == 0x2c) {
      i = ws(i + 1);
      continue;
    }
    if (c == 0x7d) return i + 1;
    return ERR;
  }
}

function array(i: usize, depth: i32): usize {
  if (depth > 1000) return ERR;
  i = ws(i + 1);
  if (load<u8>(i) == 0x5d) return i + 1;
  while (true) {
    i = value(i, depth, false);
    if (i == ERR) return ERR;
    i = ws(i);
    const c = load<u8>(i);
    if (c == 0x2c) {
      i = ws(i + 1);
      continue;
    }
    if (c == 0x5d) return i + 1;
    return ERR;
  }
}

/** The next line to scan after the last call. */
export let next: usize = 0;
/** Running counts over every call (the worker reads them at the end). */
export let lineNo: u32 = 0;
export let rows: u32 = 0;
export let missing: u32 = 0;
export let nonFinite: u32 = 0;
export let firstNonFinite: i32 = -1;
/** Values written by the last call (numbers in file order; NUMBER_TEXT slots are NaN placeholders). */
export let valueCount: u32 = 0;
/** Records written by the last call: lines whose value is not a plain number or absent. */
export let recordCount: u32 = 0;

/**
 * Scan whole lines from `start` while a line starts before `limit` and ends before `stop` (each
 * line ends with a newline byte; 16 readable bytes follow `stop`). Blank lines, absent fields and
 * numbers are counted here, numbers stored at `values`; every other line becomes a record (kind,
 * line number, offsets a and b, value slot) for the worker. Stops when `maxRecords` records or
 * `maxValues` values are written, after a FALLBACK or TOO_LONG record; `next` is where.
 */
export function scan(
  start: usize,
  stop: usize,
  limit: usize,
  maxRecords: u32,
  maxValues: u32,
  maxLine: usize,
  values: usize,
): void {
  let s = start;
  let nv: u32 = 0;
  let nr: u32 = 0;
  while (nr < maxRecords && nv < maxValues && s < limit && s < stop) {
    const e = findNewline(s);
    if (e >= stop) break;
    lineNo++;
    let result: u8 = 0;
    let a: usize = s;
    let b: usize = e;
    if (e - s > maxLine) result = TOO_LONG;
    else {
      let i = ws(s);
      if (i == e) result = BLANK;
      else {
        kind = MISSING;
        fallback = false;
        if (load<u8>(i) != 0x7b) i = ERR;
        else i = object(i, 0, 0);
        if (i != ERR) i = ws(i);
        if (i == ERR || i != e) result = INVALID;
        else if (fallback) result = FALLBACK;
        else {
          result = kind;
          a = capA;
          b = capB;
        }
      }
    }
    s = e + 1;
    if (result == BLANK) continue;
    if (result == MISSING) {
      rows++;
      missing++;
      continue;
    }
    if (result == NUMBER) {
      rows++;
      const v = num;
      store<f64>(values + (<usize>nv << 3), v);
      nv++;
      if (v - v != 0) {
        nonFinite++;
        if (firstNonFinite < 0) firstNonFinite = <i32>lineNo;
      }
      continue;
    }
    const r = outKind + (<usize>nr << 4);
    store<u8>(r, result);
    store<u32>(r + 4, lineNo);
    store<u32>(r + 8, <u32>a);
    store<u32>(r + 12, <u32>b);
    if (result == NUMBER_TEXT) {
      // A placeholder keeps the values in file order; the worker writes Number(text) into it.
      store<f64>(values + (<usize>nv << 3), NaN);
      store<u32>(outA + (<usize>nr << 2), nv);
      nv++;
    }
    nr++;
    if (result == FALLBACK || result == TOO_LONG) break;
  }
  next = s;
  valueCount = nv;
  recordCount = nr;
}
