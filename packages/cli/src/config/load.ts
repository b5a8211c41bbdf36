import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { globalRegistry, type z } from "zod";
import { ConfigInvalidError, ConfigNotFoundError, type ConfigProblem } from "../errors.js";
import { type Config, ConfigSchema } from "./schema.js";

/** A loaded, validated configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or undefined when no file exists and defaults are used. */
  path?: string;
  /** The folder relative paths in the config are resolved against. */
  baseDir: string;
  /** sha256 of the file's bytes (hex), for provenance. */
  sha256?: string;
}

/** Format a zod path as a YAML path: `run[0].timeoutMinutes`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(
        prev[j]! + 1,
        prev[j - 1]! + 1,
        diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest known key, when one is close enough to be a likely typo. */
export function didYouMean(input: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(input, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.round(input.length * 0.4));
  return bestDistance <= limit ? best : undefined;
}

type AnyZod = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } };

/** The object shapes a schema has at `path` (walking through optional, default, arrays, unions). */
function objectShapesAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): Array<Record<string, AnyZod>> {
  const shapes: Array<Record<string, AnyZod>> = [];
  const visit = (s: AnyZod, rest: ReadonlyArray<PropertyKey>, depth: number) => {
    if (depth > 50) return;
    const def = s._zod.def;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
      case "catch":
        return visit(def.innerType as AnyZod, rest, depth + 1);
      case "pipe":
        return visit(def.in as AnyZod, rest, depth + 1);
      case "lazy":
        return visit((def.getter as () => AnyZod)(), rest, depth + 1);
      case "union":
        for (const o of def.options as AnyZod[]) visit(o, rest, depth + 1);
        return;
      case "array":
        if (rest.length && typeof rest[0] === "number")
          visit(def.element as AnyZod, rest.slice(1), depth + 1);
        return;
      case "record":
        if (rest.length) visit(def.valueType as AnyZod, rest.slice(1), depth + 1);
        return;
      case "object": {
        const shape = def.shape as Record<string, AnyZod>;
        if (rest.length === 0) {
          shapes.push(shape);
          return;
        }
        const next = shape[String(rest[0])];
        if (next) visit(next, rest.slice(1), depth + 1);
        return;
      }
      default:
        return;
    }
  };
  visit(schema as AnyZod, path, 0);
  return shapes;
}

/** The object keys a schema allows at `path` (walking through optional, default, arrays, unions). */
export function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  return [...new Set(objectShapesAt(schema, path).flatMap((shape) => Object.keys(shape)))];
}

/** The values a key accepts or suggests: an enum's options, or the `examples` in its metadata. */
function valuesOf(s: AnyZod, depth = 0): string[] {
  if (depth > 20) return [];
  const examples = (globalRegistry.get(s) as { examples?: unknown } | undefined)?.examples;
  if (Array.isArray(examples)) return examples.map(String);
  const def = s._zod.def;
  if (def.type === "enum") return Object.values(def.entries as Record<string, string>).map(String);
  if ("innerType" in def) return valuesOf(def.innerType as AnyZod, depth + 1);
  return [];
}

/**
 * When a value is wrong for its key but right for a sibling key (`stat: failures` where
 * `field: failures` was meant), name that key and its values.
 */
export function siblingForValue(
  schema: z.ZodType,
  path: ReadonlyArray<PropertyKey>,
  value: unknown,
): { key: string; values: string[] } | undefined {
  if (typeof value !== "string" || path.length === 0) return undefined;
  const key = String(path[path.length - 1]);
  for (const shape of objectShapesAt(schema, path.slice(0, -1)))
    for (const [other, s] of Object.entries(shape)) {
      if (other === key) continue;
      const values = valuesOf(s);
      if (values.includes(value)) return { key: other, values };
    }
  return undefined;
}

function describeFound(node: unknown): string {
  if (node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "an empty value";
    return `${typeof v} ${JSON.stringify(v)}`;
  }
  return "something else";
}

/** A config nests at most this deep (gpuci's own schema needs fewer than ten levels). */
export const MAX_CONFIG_DEPTH = 64;

/**
 * The offset of the first byte that is not valid UTF-8 (overlong forms, surrogates and values
 * past U+10FFFF included), or -1 when every byte is.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= bytes.length) return i;
    for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    const b1 = bytes[i + 1]!;
    if (
      (b === 0xe0 && b1 < 0xa0) ||
      (b === 0xed && b1 > 0x9f) ||
      (b === 0xf0 && b1 < 0x90) ||
      (b === 0xf4 && b1 > 0x8f)
    )
      return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Problems no schema sees in the parsed YAML: nesting past {@link MAX_CONFIG_DEPTH}, numbers
 * that do not survive as numbers (`1e400` and `.inf` read as Infinity, `1e-400` as 0, `.nan`),
 * and the key `__proto__` (an object's prototype, never a setting). Walked without recursion.
 */
function structuralProblems(
  root: unknown,
  text: string,
  at: (node: Node) => { line?: number; column?: number },
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const stack: Array<{ node: unknown; depth: number; path: Array<string | number> }> = [
    { node: root, depth: 0, path: [] },
  ];
  while (stack.length && problems.length < 20) {
    const { node, depth, path } = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth >= MAX_CONFIG_DEPTH) {
        problems.push({
          path: formatPath(path),
          ...at(node as Node),
          message: `nested deeper than ${MAX_CONFIG_DEPTH} levels: a gpuci.yml never needs this. Remove the extra nesting.`,
        });
        continue;
      }
      if (isMap(node))
        node.items.forEach((pair) => {
          if (!isPair(pair)) return;
          const key = isScalar(pair.key) ? String(pair.key.value) : "?";
          if (key === "__proto__")
            problems.push({
              path: formatPath([...path, key]),
              ...at(pair.key as Node),
              message:
                'the key "__proto__" is not allowed (it would be an object\'s prototype, not a setting). Rename it.',
            });
          stack.push({ node: pair.value, depth: depth + 1, path: [...path, key] });
        });
      else
        node.items.forEach((item, i) => {
          stack.push({ node: item, depth: depth + 1, path: [...path, i] });
        });
    } else if (isScalar(node) && typeof node.value === "number") {
      const v = node.value;
      const source = node.range ? text.slice(node.range[0], node.range[1]).trim() : String(v);
      if (Number.isNaN(v) || !Number.isFinite(v))
        problems.push({
          path: formatPath(path),
          ...at(node as Node),
          message: `${source} is not a finite number (it reads as ${v}). Write a finite number.`,
        });
      else if (v === 0 && /[1-9]/.test(source.replace(/e.*$/i, "")))
        problems.push({
          path: formatPath(path),
          ...at(node as Node),
          message: `${source} is too small to represent: it reads as 0. Write 0, or a number within ±1e-300.`,
        });
    }
  }
  return problems;
}

/**
 * Validate a parsed value against a zod schema, locating each problem in the YAML source.
 * Exported so each package's section (and tests) can reuse the same error format.
 */
export function validateYaml<S extends z.ZodType>(schema: S, text: string, file: string): z.infer<S> {
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConfigInvalidError(file, [
      {
        path: "",
        message: `nested deeper than gpuci reads (${MAX_CONFIG_DEPTH} levels at most). Remove the extra nesting.`,
      },
    ]);
  }
  const deep = doc.errors.find((e) => /Maximum call stack/.test(e.message));
  if (deep)
    throw new ConfigInvalidError(file, [
      {
        path: "",
        line: deep.linePos?.[0]?.line,
        column: deep.linePos?.[0]?.col,
        message: `nested deeper than gpuci reads (${MAX_CONFIG_DEPTH} levels at most). Remove the extra nesting.`,
      },
    ]);
  if (doc.errors.length > 0) {
    throw new ConfigInvalidError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          path: "",
          line: pos?.line,
          column: pos?.col,
          message: `not valid YAML: ${e.message.split("\n")[0]}. Check indentation and quoting on that line.`,
        };
      }),
    );
  }
  // Tags gpuci does not know (!!python/object/apply, !!js/function) are never silently taken
  // as plain values: a config is data, not code.
  const tagProblems = doc.warnings.filter((w) => w.code === "TAG_RESOLVE_FAILED");
  if (tagProblems.length)
    throw new ConfigInvalidError(
      file,
      tagProblems.map((w) => {
        const pos = w.linePos?.[0];
        const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1] ?? "?";
        return {
          path: "",
          line: pos?.line,
          column: pos?.col,
          message: `unknown YAML tag ${tag.replace("tag:yaml.org,2002:", "!!")}: gpuci.yml holds plain values only. Remove the tag.`,
        };
      }),
    );
  const nodeAt = (node: Node) => {
    const offset = node.range?.[0];
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const structural = structuralProblems(doc.contents, text, nodeAt);
  if (structural.length) throw new ConfigInvalidError(file, structural);
  let value: unknown;
  try {
    // A small alias budget: a "billion laughs" config is refused, not expanded.
    value = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (error) {
    const message = (error as Error).message;
    throw new ConfigInvalidError(file, [
      {
        path: "",
        message: /Excessive alias count/.test(message)
          ? "too many YAML aliases (*name): the file expands beyond what a config needs. Write the values out, or use fewer aliases."
          : /Unresolved alias/.test(message)
            ? `${message.replace(/\.$/, "")}. Define the anchor (&name) before its alias (*name).`
            : `could not read the YAML: ${message}`,
      },
    ]);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;

  const locate = (path: ReadonlyArray<PropertyKey>, key?: string): { line?: number; column?: number } => {
    const parts = path.map((p) => (typeof p === "number" ? p : String(p)));
    let node = (parts.length ? doc.getIn(parts, true) : doc.contents) as Node | undefined;
    if (key && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key)) node = pair.key as Node;
    }
    // A missing key: point at its parent mapping.
    for (let n = parts.length; !node && n > 0; n--)
      node = doc.getIn(parts.slice(0, n - 1), true) as Node | undefined;
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const guess = didYouMean(key, known);
        problems.push({
          path: formatPath([...issue.path, key]),
          ...locate(issue.path, key),
          message: `unknown key "${key}".${guess ? ` Did you mean "${guess}"?` : ""} Allowed here: ${known.join(", ") || "none"}.`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      // The key itself is wrong (an env name with "="): say which, and why.
      const key = String(issue.path[issue.path.length - 1]);
      const why = (issue as { issues?: Array<{ message: string }> }).issues?.[0]?.message ?? issue.message;
      problems.push({
        path: formatPath(issue.path),
        ...locate(issue.path.slice(0, -1), key),
        message: `the key ${JSON.stringify(key)} is not allowed here: ${why}`,
      });
      continue;
    }
    const found = describeFound(
      issue.path.length ? doc.getIn(issue.path as Array<string | number>, true) : doc.contents,
    );
    let message = issue.message;
    if (found === "nothing") message = `missing required key "${String(issue.path[issue.path.length - 1])}"`;
    else if (issue.code === "invalid_type") message = `expected ${issue.expected}, found ${found}`;
    else if (issue.code === "invalid_value") {
      message = `${issue.message}, found ${found}`;
      const node = doc.getIn(issue.path as Array<string | number>, false);
      const sibling = siblingForValue(schema, issue.path, node);
      if (sibling)
        message += `. Did you mean \`${sibling.key}: ${String(node)}\`? (${sibling.key} takes ${sibling.values.join(", ")})`;
    } else if (issue.code === "invalid_union") message = `${issue.message}; found ${found}`;
    else if (found !== "nothing" && !message.includes("found")) message = `${message} (found ${found})`;
    problems.push({ path: formatPath(issue.path), ...locate(issue.path), message });
  }
  throw new ConfigInvalidError(file, problems);
}

/** The config file names looked for, in order, when none is given. */
export const DEFAULT_CONFIG_NAMES = ["gpuci.yml", "gpuci.yaml", ".gpuci.yml"] as const;

/**
 * Load gpuci.yml. With an explicit path the file must exist; without one, the default names
 * are tried in `cwd` and, when none exists, the empty config (all defaults) is used.
 */
export async function loadConfig(options: { path?: string; cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const candidates = options.path
    ? [resolve(cwd, options.path)]
    : DEFAULT_CONFIG_NAMES.map((n) => resolve(cwd, n));
  for (const candidate of candidates) {
    let bytes: Buffer;
    try {
      bytes = await readFile(candidate);
      const bad = firstInvalidUtf8(bytes);
      if (bad >= 0) {
        const before = bytes.subarray(0, bad);
        const line = before.filter((b) => b === 0x0a).length + 1;
        const column = bad - (before.lastIndexOf(0x0a) + 1) + 1;
        throw new ConfigInvalidError(options.path ?? candidate, [
          {
            path: "",
            line,
            column,
            message: `not valid UTF-8: byte 0x${bytes[bad]!.toString(16).padStart(2, "0")} at offset ${bad}. Save the file as UTF-8.`,
          },
        ]);
      }
    } catch (error) {
      if (error instanceof ConfigInvalidError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && !options.path) continue;
      if (code === "ENOENT")
        throw new ConfigNotFoundError(
          `${options.path} does not exist (looked in ${cwd}). Create it (see examples/quickstart/gpuci.yml) or pass -c PATH.`,
        );
      if (code === "EISDIR")
        throw new ConfigNotFoundError(
          `${candidate} is a folder. Pass the path of the gpuci.yml file inside it.`,
        );
      throw new ConfigNotFoundError(`${candidate} could not be read (${code ?? String(error)}).`);
    }
    const config = validateYaml(ConfigSchema, bytes.toString("utf8"), options.path ?? candidate);
    return {
      config,
      path: candidate,
      baseDir: dirname(candidate),
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  }
  return { config: {}, baseDir: cwd };
}
