import { createReadStream } from "node:fs";
import { MetricError } from "./common.js";

/** A step in a JSON path: an object key or an array index. */
export type PathStep = string | number;

/**
 * Which values to materialise while streaming: `pick(path)` is true for a value to build whole and
 * hand to `onValue`; everything else is skipped as it is read, so memory stays bounded by the
 * largest picked value, however large the file.
 */
export interface StreamJsonOptions {
  pick(path: readonly PathStep[]): boolean;
  onValue(path: readonly PathStep[], value: unknown): void;
  /** Bytes read at a time (default 1 MiB). */
  chunkBytes?: number;
}

type Frame =
  | { kind: "object"; key: string | undefined; expectKey: boolean; build?: Record<string, unknown> }
  | { kind: "array"; index: number; build?: unknown[] };

/**
 * Stream a JSON file (RFC 8259, plus the bare NaN/Infinity/-Infinity Python writes) and hand the
 * picked values to `onValue`, in file order. A syntax error is a MetricError with its byte
 * offset. Strings may span chunks; the UTF-8 BOM is skipped.
 */
export async function streamJson(file: string, label: string, options: StreamJsonOptions): Promise<void> {
  const stack: Frame[] = [];
  const path: PathStep[] = [];
  /** Depth in `stack` at which the value being materialised started (−1: none). */
  let buildDepth = -1;
  let buildRoot: unknown;
  let offset = 0;
  let pending = ""; // an unfinished token (string, number, literal) from the previous chunk
  let done = false;

  const fail = (what: string): never => {
    throw new MetricError(
      `${label} is not valid JSON (in the ${offset === 0 ? "first" : `block after byte ${offset}`}): ${what}`,
      "Check that the command that writes it finished; a truncated file usually means it crashed.",
    );
  };

  const currentPath = (): PathStep[] => path.slice();

  /** A complete value (scalar or container just closed) arrived at the current position. */
  const place = (value: unknown, isContainerClose: boolean) => {
    const top = stack[stack.length - 1];
    if (buildDepth >= 0 && stack.length >= buildDepth) {
      // Inside a materialised value: attach to the parent being built.
      if (top?.kind === "object" && top.build) top.build[top.key!] = value;
      else if (top?.kind === "array" && top.build) top.build.push(value);
    } else if (!isContainerClose && options.pick(currentPath())) options.onValue(currentPath(), value);
    if (top?.kind === "object") {
      top.expectKey = true;
      path.pop();
    } else if (top?.kind === "array") {
      top.index++;
      path[path.length - 1] = top.index;
    } else done = true;
  };

  const open = (kind: "object" | "array") => {
    const building = buildDepth >= 0 || options.pick(currentPath());
    const frame: Frame =
      kind === "object"
        ? { kind, key: undefined, expectKey: true, ...(building ? { build: {} } : {}) }
        : { kind, index: 0, ...(building ? { build: [] } : {}) };
    if (building && buildDepth < 0) {
      buildDepth = stack.length + 1;
      buildRoot = frame.kind === "object" ? frame.build : frame.build;
    }
    stack.push(frame);
    if (frame.kind === "array") path.push(0);
  };

  const close = (kind: "object" | "array") => {
    const frame = stack.pop();
    if (!frame || frame.kind !== kind) fail(`unexpected ${kind === "object" ? "}" : "]"}`);
    if (frame!.kind === "array") path.pop();
    const built = frame!.build;
    if (buildDepth >= 0 && stack.length + 1 === buildDepth) {
      // The materialised value is complete.
      buildDepth = -1;
      options.onValue(currentPath(), buildRoot);
      buildRoot = undefined;
      place(built, true);
      return;
    }
    place(built, true);
  };

  const scalar = (token: string, isString: boolean) => {
    const top = stack[stack.length - 1];
    if (top?.kind === "object" && top.expectKey) {
      if (!isString) fail(`expected a key, found ${token.slice(0, 20)}`);
      top.key = token;
      top.expectKey = false;
      path.push(token);
      return;
    }
    let value: unknown;
    if (isString) value = token;
    else if (token === "true") value = true;
    else if (token === "false") value = false;
    else if (token === "null") value = null;
    else if (token === "NaN") value = Number.NaN;
    else if (token === "Infinity") value = Number.POSITIVE_INFINITY;
    else if (token === "-Infinity") value = Number.NEGATIVE_INFINITY;
    else if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(token)) value = Number(token);
    else fail(`"${token.slice(0, 20)}" is not a JSON value`);
    place(value, false);
  };

  const decoder = new TextDecoder("utf-8", { fatal: false });
  let first = true;
  for await (const chunk of createReadStream(file, { highWaterMark: options.chunkBytes ?? 1 << 20 })) {
    let text = pending + decoder.decode(chunk as Buffer, { stream: true });
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    pending = "";
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c || c === 0x3a) {
        // whitespace, and separators: their placement is implied by the frames
        i++;
        continue;
      }
      if (done) fail("text after the end of the document");
      if (c === 0x7b) {
        open("object");
        i++;
      } else if (c === 0x5b) {
        open("array");
        i++;
      } else if (c === 0x7d) {
        close("object");
        i++;
      } else if (c === 0x5d) {
        close("array");
        i++;
      } else if (c === 0x22) {
        // A string: find its end, honouring escapes; keep it for the next chunk if cut.
        let j = text.indexOf('"', i + 1);
        let escaped = false;
        while (j >= 0) {
          // A quote preceded by an odd number of backslashes is escaped.
          let k = j - 1;
          let slashes = 0;
          while (k > i && text.charCodeAt(k) === 0x5c) {
            slashes++;
            k--;
          }
          if (slashes % 2 === 0) break;
          escaped = true;
          j = text.indexOf('"', j + 1);
        }
        if (j < 0) {
          pending = text.slice(i);
          break;
        }
        const raw = text.slice(i + 1, j);
        let str: string;
        if (!escaped && raw.indexOf("\\") < 0) str = raw;
        else {
          try {
            str = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            fail("a string with an invalid escape");
            str = "";
          }
        }
        scalar(str, true);
        i = j + 1;
      } else {
        let j = i;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (
            d === 0x2c ||
            d === 0x7d ||
            d === 0x5d ||
            d === 0x3a ||
            d === 0x20 ||
            d === 0x0a ||
            d === 0x0d ||
            d === 0x09
          )
            break;
        }
        if (j >= n) {
          pending = text.slice(i);
          break;
        }
        scalar(text.slice(i, j), false);
        i = j;
      }
    }
    offset += (chunk as Buffer).length;
  }
  if (pending.trim()) {
    if (pending.startsWith('"')) fail("an unterminated string at the end");
    scalar(pending.trim(), false);
  }
  if (stack.length > 0 || !done) fail("the document ends before its last bracket closes");
}
