import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { createSection, type Finding, type Section, writeFileAtomic } from "@gpuci/report";
import type { Backend, Unavailable } from "./backends/types.js";
import type { UserWgslKernel } from "./backends/webgpu.js";
import {
  CATALOG,
  DEFAULT_SHAPES,
  type Dtype,
  KERNELS,
  type KernelName,
  type KernelShape,
  type KernelSpec,
  type NativeShape,
} from "./catalog.js";
import { benchKernel, checkKernel, listBackends } from "./check.js";
import { buildUserEmulator, emulatedUserBackend } from "./emulate.js";
import { type FixedReference, loadReference } from "./reference.js";
import { type KernelsConfig, KernelsConfigSchema } from "./schema.js";
import { compileCheckCuda, loadUserCuda, loadUserWgsl, type UserCudaKernel } from "./user.js";

/** The most elements one typed array may hold here (2³² − 1 in V8; kept at 2³¹ for headroom). */
export const MAX_ARRAY_ELEMENTS = 2 ** 31;

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1);

/**
 * Host memory one shape needs: the float32 inputs and output (4 bytes a value), the backend's
 * copy of the output, and the float64 reference (8 bytes a value), with the largest array's
 * length (bounded by all inputs together), so an absurd shape is refused before anything is allocated.
 */
export function shapeMemory(spec: KernelSpec, s: NativeShape): { hostBytes: number; largestArray: number } {
  const values = spec.bytes(s) / 4; // inputs read once + output written once, in values
  const out = spec.outputSize(s);
  return { hostBytes: 4 * values + 4 * out + 8 * out, largestArray: Math.max(out, values - out) };
}

/** Memory the kernels can use: MemAvailable from /proc/meminfo, else os.freemem(). */
export function availableMemoryBytes(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return freemem();
}

/** Options for {@link runKernels}. */
export interface RunKernelsOptions {
  backend?: "all" | "napi" | "webgpu";
  kernel?: string;
  /** Write every row as CSV (the seed's --save-csv). */
  csv?: string;
  onProgress?: (line: string) => void;
  /** Per-kernel timing budget in ms (default 2000). */
  budgetMs?: number;
  /** Where user kernel sources are resolved (the folder of gpuci.yml). */
  baseDir?: string;
  /** Backends to use instead of the ones this machine starts (embedding gpuci; tests). */
  backends?: { backends: Backend[]; unavailable: Unavailable[] };
}

/** One row: a kernel on a shape, dtype and backend. */
export interface KernelRow {
  kernel: string;
  backend: string;
  device: string;
  software: boolean;
  dtype: Dtype;
  shape: string;
  correct: boolean | null;
  maxAbsErr?: number;
  maxRelErr?: number;
  medianMs?: number;
  p20Ms?: number;
  p80Ms?: number;
  samples?: number;
  gflops?: number;
  gbps?: number;
  peakFraction?: number;
  timing?: string;
}

const CSV_COLUMNS: Array<keyof KernelRow> = [
  "kernel",
  "backend",
  "device",
  "software",
  "dtype",
  "shape",
  "correct",
  "maxAbsErr",
  "maxRelErr",
  "medianMs",
  "p20Ms",
  "p80Ms",
  "samples",
  "gflops",
  "gbps",
  "peakFraction",
  "timing",
];

/** A user kernel's source that could not be loaded (missing file, bad dispatch expression). */
const sourceError = (id: string, title: string, error: unknown): Finding => ({
  id,
  title,
  status: "error",
  summary: (error as Error).message,
  remedy: "Fix kernels[].source in gpuci.yml.",
});

/**
 * Check every configured kernel on every requested backend — correctness first, and only a
 * correct kernel is timed — and return one finding per (kernel, shape, dtype, backend).
 */
export async function runKernels(
  input: unknown,
  options: RunKernelsOptions = {},
): Promise<{ section: Section; rows: KernelRow[] }> {
  const t0 = performance.now();
  let config: KernelsConfig = KernelsConfigSchema.parse(input ?? []);
  if (config.length === 0) config = KERNELS.map((kernel) => KernelsConfigSchema.parse([{ kernel }])[0]!);
  if (options.kernel) {
    if (!(KERNELS as readonly string[]).includes(options.kernel))
      throw new Error(`unknown kernel "${options.kernel}": the catalog has ${KERNELS.join(", ")}`);
    config = config.filter((c) => c.kernel === options.kernel);
    if (config.length === 0) config = KernelsConfigSchema.parse([{ kernel: options.kernel }]);
  }
  const { backends, unavailable } = options.backends ?? (await listBackends(options.backend ?? "all"));
  const findings: Finding[] = [];
  const rows: KernelRow[] = [];
  const familyOf = (b: string) => (b.startsWith("napi") ? "napi" : b);
  for (const entry of config) {
    const kernel = entry.kernel as KernelName;
    const spec = CATALOG[kernel];
    const shapes: KernelShape[] = entry.shapes ?? DEFAULT_SHAPES[kernel];
    let entryBackends = backends;
    if (entry.source) {
      // A user kernel runs on its own backend (the same device), instead of gpuci's kernel.
      const src = entry.source;
      const file = "wgsl" in src ? src.wgsl : src.cuda;
      const id = `kernel.${kernel}.user.${file.replace(/[^A-Za-z0-9]+/g, "_")}`;
      const title = `${kernel} from ${file}`;
      const host = backends.find((b) => b.name === ("wgsl" in src ? "webgpu" : "napi-cuda")) as
        | (Backend & {
            withUserKernel?(u: UserWgslKernel): Backend;
            withUserCuda?(u: UserCudaKernel): Backend;
          })
        | undefined;
      if (!host) {
        const name = "wgsl" in src ? "webgpu" : "napi-cuda";
        const why = `${name} unavailable: ${unavailable.find((u) => u.name === name)?.reason ?? "not requested"}`;
        if ("cuda" in src && (options.backend ?? "all") !== "webgpu") {
          // No GPU here, but NVRTC can still prove the source compiles (a compile error fails),
          // and the CUDA emulator can check what it computes on the CPU (not timed).
          let user: UserCudaKernel;
          try {
            user = await loadUserCuda(kernel, src, options.baseDir ?? process.cwd());
          } catch (error) {
            findings.push(sourceError(id, title, error));
            continue;
          }
          const c = compileCheckCuda(user);
          if (c && !c.ok) {
            findings.push({
              id,
              title,
              status: "fail",
              summary: `does not compile with ${c.nvrtc} for ${c.arch}: ${c.error}`,
              remedy: `Fix ${file}; reproduce with gpuci kernels --kernel ${kernel} on any machine with libnvrtc (no GPU needed).`,
            });
            continue;
          }
          const compiled = c
            ? `compiles with ${c.nvrtc} for ${c.arch}`
            : "not compiled by NVRTC (missing: set GPUCI_NVRTC to a libnvrtc.so)";
          if (src.emulate !== false) {
            options.onProgress?.(`${title}: building the CUDA emulator`);
            const built = buildUserEmulator(user);
            if (built.bin) {
              entryBackends = [emulatedUserBackend(built.bin, user, `${compiled}; not timed: ${why}`)];
            } else {
              findings.push({
                id,
                title,
                status: "skip",
                summary: `${compiled}; not run: ${why}; the CUDA emulator could not build it (it covers a subset of CUDA: no headers, no inline PTX): ${built.error}`,
              });
              continue;
            }
          } else {
            findings.push({ id, title, status: "skip", summary: `${compiled}; not run: ${why}` });
            continue;
          }
        } else {
          findings.push({ id, title, status: "skip", summary: why });
          continue;
        }
      }
      if (host)
        try {
          const base = options.baseDir ?? process.cwd();
          entryBackends = [
            "wgsl" in src
              ? host.withUserKernel!(await loadUserWgsl(kernel, src, base))
              : host.withUserCuda!(await loadUserCuda(kernel, src, base)),
          ];
        } catch (error) {
          findings.push(sourceError(id, title, error));
          continue;
        }
    }
    const wanted = (b: string) =>
      entry.backends.includes(familyOf(b) as "napi" | "webgpu") &&
      (options.backend ?? "all") !== (familyOf(b) === "napi" ? "webgpu" : "napi");
    for (const u of entry.source ? [] : unavailable.filter((x) => wanted(x.name)))
      findings.push({
        id: `kernel.${kernel}.${u.name}`,
        title: `${kernel} on ${u.name}`,
        status: "skip",
        summary: `${u.name} unavailable: ${u.reason}`,
        data: { kernel, backend: u.name, correct: null },
      });
    for (const shape of shapes) {
      let s: NativeShape;
      try {
        s = spec.normalize(shape);
      } catch (error) {
        findings.push({
          id: `kernel.${kernel}.shape`,
          title: `${kernel} ${JSON.stringify(shape)}`,
          status: "error",
          summary: (error as Error).message,
          remedy: `Give ${kernel}'s shape every size it needs in gpuci.yml (kernels[].shapes).`,
        });
        continue;
      }
      // Inputs, the output and the float64 reference live in host memory: refuse a shape that
      // cannot fit before allocating anything.
      const memory = shapeMemory(spec, s);
      const available = availableMemoryBytes();
      if (memory.largestArray > MAX_ARRAY_ELEMENTS || memory.hostBytes > available * 0.8) {
        findings.push({
          id: `kernel.${kernel}.${spec.describe(s).replace(/[^A-Za-z0-9=]+/g, "_")}.memory`,
          title: `${kernel} ${spec.describe(s)}: memory`,
          status: "error",
          summary:
            memory.largestArray > MAX_ARRAY_ELEMENTS
              ? `one array of ${kernel} ${spec.describe(s)} has ${memory.largestArray.toLocaleString("en")} elements; gpuci's arrays hold at most ${MAX_ARRAY_ELEMENTS.toLocaleString("en")}`
              : `${kernel} ${spec.describe(s)} needs about ${gib(memory.hostBytes)} GiB of host memory (inputs, output and the float64 reference); this machine has ${gib(available)} GiB available`,
          remedy: `Use a smaller shape for the correctness check (the catalog's defaults are sized for a software GPU), or compare against your own reference files (kernels[].reference).`,
          data: { kernel, shape: spec.describe(s), hostBytes: memory.hostBytes, availableBytes: available },
        });
        continue;
      }
      for (const dtype of entry.dtypes as Dtype[]) {
        let fixed: FixedReference | undefined;
        if (entry.reference) {
          try {
            fixed = await loadReference(kernel, s, dtype, entry.reference, options.baseDir ?? process.cwd());
          } catch (error) {
            findings.push({
              id: `kernel.${kernel}.reference.${dtype}`,
              title: `${kernel} ${spec.describe(s)} ${dtype}: reference files`,
              status: "error",
              summary: (error as Error).message,
              remedy: (error as { remedy?: string }).remedy ?? "Fix kernels[].reference in gpuci.yml.",
            });
            continue;
          }
        }
        for (const backend of entry.source ? entryBackends : backends.filter((b) => wanted(b.name))) {
          const info = backend.info();
          const id = `kernel.${kernel}.${spec.describe(s).replace(/[^A-Za-z0-9=]+/g, "_")}.${dtype}.${backend.name}`;
          const title = `${kernel} ${spec.describe(s)} ${dtype} on ${backend.name}`;
          const base = {
            kernel,
            backend: backend.name,
            device: info.device,
            dtype,
            shape: spec.describe(s),
            software: info.software,
          };
          const unsupported = backend.supports(kernel, dtype);
          if (unsupported) {
            findings.push({
              id,
              title,
              status: "skip",
              summary: unsupported,
              data: { ...base, correct: null },
            });
            continue;
          }
          options.onProgress?.(`${title}: checking`);
          const tk = performance.now();
          const row: KernelRow = { ...base, correct: null };
          try {
            const check = await checkKernel(backend, kernel, s, { dtype, ...(fixed ? { fixed } : {}) });
            Object.assign(row, {
              correct: check.correct,
              maxAbsErr: check.maxAbsErr,
              maxRelErr: check.maxRelErr,
            });
            if (!check.correct) {
              const w = check.worst;
              findings.push({
                id,
                title,
                status: "fail",
                summary: `${fixed ? `differs from ${fixed.label}` : `wrong on trial ${check.trials}`}: ${check.reason}; worst element [${w?.index}] = ${w?.got} (expected ${w?.expected})`,
                remedy: `Fix the ${kernel} kernel before timing it: a benchmark of a wrong kernel is worthless. Start from the worst element's index (tile edges and the last element are the usual suspects).`,
                data: row,
                durationMs: Math.round(performance.now() - tk),
              });
              rows.push(row);
              continue;
            }
            const under = backend.name.startsWith("cuda-emu:") ? " under the CUDA emulator" : "";
            let summary = `${fixed ? `matches ${fixed.label}${under}` : `correct${under} over ${check.trials} trials`} (max abs err ${check.maxAbsErr.toExponential(2)}, max rel err ${check.maxRelErr.toExponential(2)})`;
            if (backend.untimed) summary += `; ${backend.untimed}`;
            else if (entry.time) {
              options.onProgress?.(`${title}: timing`);
              const bench = await benchKernel(backend, kernel, s, {
                dtype,
                ...(options.budgetMs ? { budgetMs: options.budgetMs } : {}),
              });
              if (bench.belowResolution) {
                Object.assign(row, {
                  samples: bench.samples.length,
                  timing: `${info.timing}; ${bench.belowResolution}`,
                });
                findings.push({
                  id,
                  title,
                  status: "warn",
                  summary: `${summary}; ${bench.belowResolution} — ${info.timing}`,
                  remedy: `Add a shape at least 50× the work of this one to the ${kernel} entry: a timer that cannot see the kernel gives no median and no throughput (never a number it cannot back).`,
                  data: row,
                  durationMs: Math.round(performance.now() - tk),
                });
                rows.push(row);
                continue;
              }
              Object.assign(row, {
                medianMs: bench.medianMs,
                p20Ms: bench.p20Ms,
                p80Ms: bench.p80Ms,
                samples: bench.samples.length,
                gflops: bench.gflops,
                gbps: bench.gbps,
                ...(bench.peakFraction !== undefined ? { peakFraction: bench.peakFraction } : {}),
                timing: info.timing,
              });
              summary += `; median ${bench.medianMs.toPrecision(3)} ms (p20 ${bench.p20Ms.toPrecision(3)}, p80 ${bench.p80Ms.toPrecision(3)}, n=${bench.samples.length}), ${bench.gflops.toPrecision(3)} GFLOP/s, ${bench.gbps.toPrecision(3)} GB/s${bench.peakFraction !== undefined ? `, ${(bench.peakFraction * 100).toFixed(0)} % of peak` : ""} — ${info.timing}`;
            }
            findings.push({
              id,
              title,
              status: "pass",
              summary,
              data: row,
              durationMs: Math.round(performance.now() - tk),
            });
          } catch (error) {
            findings.push({
              id,
              title,
              status: "error",
              summary: `the backend failed: ${(error as Error).message}`,
              remedy: `Run gpuci kernels --backend ${familyOf(backend.name)} --kernel ${kernel} to reproduce; check the device with gpuci preflight.`,
              data: row,
            });
          }
          rows.push(row);
        }
      }
    }
  }
  if (options.csv) {
    const esc = (v: unknown) =>
      v === undefined || v === null
        ? ""
        : /[",\n]/.test(String(v))
          ? `"${String(v).replace(/"/g, '""')}"`
          : String(v);
    await writeFileAtomic(
      options.csv,
      `${CSV_COLUMNS.join(",")}\n${rows.map((r) => CSV_COLUMNS.map((c) => esc(r[c])).join(",")).join("\n")}\n`,
    );
  }
  return { section: createSection("kernels", "Kernels", findings, Math.round(performance.now() - t0)), rows };
}

/** Run the vector-add health check on each available backend (preflight's gpu.compute). */
export async function computeHealthCheck(): Promise<Finding[]> {
  const { backends, unavailable } = await listBackends("all");
  const out: Finding[] = [];
  for (const b of backends) {
    const t = performance.now();
    try {
      const r = await checkKernel(b as Backend, "vector-add", { n: 4099 }, { trials: 2 });
      out.push({
        id: `gpu.compute.${b.name}`,
        title: `computes correctly on ${b.name}`,
        status: r.correct ? "pass" : "fail",
        summary: r.correct
          ? `vector add correct on ${b.info().device}`
          : `vector add is wrong on ${b.info().device}: ${r.reason}`,
        ...(r.correct
          ? {}
          : {
              remedy:
                "The device answers but computes garbage: reset the GPU or reboot the runner, and check dmesg for Xid errors.",
            }),
        durationMs: Math.round(performance.now() - t),
      });
    } catch (error) {
      out.push({
        id: `gpu.compute.${b.name}`,
        title: `computes correctly on ${b.name}`,
        status: "error",
        summary: (error as Error).message,
        remedy: "Check the device and its driver.",
      });
    }
  }
  for (const u of unavailable)
    out.push({
      id: `gpu.compute.${u.name}`,
      title: `computes correctly on ${u.name}`,
      status: "skip",
      summary: u.reason,
    });
  return out;
}
