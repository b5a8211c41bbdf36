import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { loadAddon } from "./backends/napi.js";
import type { UserWgslKernel } from "./backends/webgpu.js";
import type { Dtype, KernelName, NativeShape } from "./catalog.js";

/** What a backend running a user's kernel can run: the one catalog kernel it implements, in f32. */
export function userKernelSupports(implemented: KernelName, language: "WGSL" | "CUDA") {
  return (k: KernelName, d: Dtype): string | undefined =>
    k !== implemented
      ? `this user kernel implements ${implemented}`
      : d !== "f32"
        ? `user ${language} kernels take f32`
        : undefined;
}

/** The shape's sizes by the names the catalog uses for this kernel, for dispatch expressions. */
export function shapeVariables(kernel: KernelName, s: NativeShape): Record<string, number> {
  switch (kernel) {
    case "vector-add":
      return { n: s.m };
    case "matmul":
      return { m: s.m, n: s.n, k: s.k };
    case "softmax":
    case "layernorm":
      return { rows: s.m, cols: s.n };
    case "attention":
      return { b: s.b, h: s.h, s: s.s, d: s.d };
  }
}

const FUNCTIONS = { ceil: Math.ceil, floor: Math.floor, min: Math.min, max: Math.max };

/**
 * Compile a dispatch expression such as "ceil(n/16)". Only numbers, the kernel's size names,
 * + - * / ( ) , and ceil/floor/min/max are accepted; anything else is an error naming the token.
 */
export function compileDispatch(kernel: KernelName, expr: number | string): (s: NativeShape) => number {
  if (typeof expr === "number") return () => expr;
  const names = [
    ...Object.keys(
      shapeVariables(kernel, { m: 1, n: 1, k: 1, b: 1, h: 1, s: 1, d: 1, causal: false, eps: 0 }),
    ),
    ...Object.keys(FUNCTIONS),
  ];
  for (const token of expr.match(/[A-Za-z_]\w*/g) ?? [])
    if (!names.includes(token))
      throw new Error(`dispatch expression "${expr}" uses "${token}"; ${kernel} offers ${names.join(", ")}`);
  const vars = Object.keys(
    shapeVariables(kernel, { m: 1, n: 1, k: 1, b: 1, h: 1, s: 1, d: 1, causal: false, eps: 0 }),
  );
  // The expression was checked token by token above: it can only do arithmetic on these names.
  const fn = new Function(...vars, ...Object.keys(FUNCTIONS), `return (${expr});`) as (
    ...a: unknown[]
  ) => number;
  return (s) => {
    const v = shapeVariables(kernel, s);
    const out = fn(...vars.map((n) => v[n]), ...Object.values(FUNCTIONS));
    if (!Number.isInteger(out) || out < 1)
      throw new Error(
        `dispatch expression "${expr}" gave ${out} for ${JSON.stringify(v)}; it must be a positive integer`,
      );
    return out;
  };
}

type Dispatch = (s: NativeShape) => [number, number, number];

/** Read a user's kernel file and compile its three dispatch (grid) expressions. */
async function readUserSource(
  kernel: KernelName,
  file: string,
  field: "wgsl" | "cuda",
  exprs: [number | string, number | string, number | string],
  baseDir: string,
): Promise<{ path: string; text: string; dispatch: Dispatch }> {
  const path = resolve(baseDir, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new Error(`${file} does not exist (looked in ${baseDir}); fix kernels[].source.${field}`);
  }
  const [x, y, z] = exprs.map((e) => compileDispatch(kernel, e));
  return { path, text, dispatch: (s) => [x!(s), y!(s), z!(s)] };
}

/** Load a user's WGSL kernel from a config entry. */
export async function loadUserWgsl(
  kernel: KernelName,
  source: { wgsl: string; entryPoint: string; dispatch: [number | string, number | string, number | string] },
  baseDir: string,
): Promise<UserWgslKernel> {
  const {
    path,
    text: code,
    dispatch,
  } = await readUserSource(kernel, source.wgsl, "wgsl", source.dispatch, baseDir);
  return {
    kernel,
    label: relative(baseDir, path) || source.wgsl,
    code,
    entryPoint: source.entryPoint,
    dispatch,
  };
}

/** A user's CUDA C++ kernel implementing a catalog kernel's contract. */
export interface UserCudaKernel {
  kernel: KernelName;
  label: string;
  source: string;
  fn: string;
  grid: (s: NativeShape) => [number, number, number];
  block: [number, number, number];
  /** The virtual architecture to compile for where no driver is present. */
  arch: string;
}

/** The outcome of compiling a user's CUDA source without running it. */
export type CompileCheck =
  | { ok: true; nvrtc: string; arch: string; ptxBytes: number }
  | { ok: false; nvrtc: string; arch: string; error: string };

/**
 * Compile a user's CUDA source with NVRTC for its `arch` and look for its entry point in the PTX:
 * what can be proven on a machine without a GPU. Undefined when the addon or NVRTC is missing.
 */
export function compileCheckCuda(user: UserCudaKernel): CompileCheck | undefined {
  const { addon } = loadAddon();
  const rtc = addon?.info().nvrtc;
  if (!addon || !rtc?.available) return undefined;
  const nvrtc = `NVRTC ${rtc.version}`;
  try {
    const { ptx } = addon.compileCuda(user.source, user.arch, user.label);
    if (!new RegExp(`\\.entry\\s+${user.fn.replace(/[^\w]/g, "")}\\s*\\(`).test(ptx))
      return {
        ok: false,
        nvrtc,
        arch: user.arch,
        error: `${user.label} compiles, but has no kernel named ${user.fn}: declare it extern "C" __global__ (without extern "C" the name is mangled)`,
      };
    return { ok: true, nvrtc, arch: user.arch, ptxBytes: ptx.length };
  } catch (error) {
    return { ok: false, nvrtc, arch: user.arch, error: (error as Error).message };
  }
}

/** Load a user's CUDA source from a config entry. */
export async function loadUserCuda(
  kernel: KernelName,
  source: {
    cuda: string;
    function: string;
    grid: [number | string, number | string, number | string];
    block: [number, number, number];
    arch?: string;
    emulate?: boolean;
  },
  baseDir: string,
): Promise<UserCudaKernel> {
  const { path, text, dispatch } = await readUserSource(kernel, source.cuda, "cuda", source.grid, baseDir);
  return {
    kernel,
    label: relative(baseDir, path) || source.cuda,
    source: text,
    fn: source.function,
    grid: dispatch,
    block: source.block,
    arch: source.arch ?? "compute_75",
  };
}
