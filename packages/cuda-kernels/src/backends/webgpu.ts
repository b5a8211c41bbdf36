import type { Dtype, KernelName, NativeShape } from "../catalog.js";
import { fromHalfBits, packHalf } from "../half.js";
import { userKernelSupports } from "../user.js";
import type { Backend, DeviceInfo, Unavailable } from "./types.js";

// WGSL kernels. All bounds-checked, so shapes that are not multiples of the tile sizes work.
const PARAMS = `struct P { m: u32, n: u32, k: u32, b: u32, h: u32, s: u32, d: u32, causal: u32, eps: f32, _p0: u32, _p1: u32, _p2: u32 };
@group(0) @binding(0) var<uniform> p: P;`;

/**
 * The catalog's WGSL, for a storage type: f32, or f16 (binary16 storage, f32 arithmetic; needs
 * the adapter's shader-f16). Every load is widened with f32(...) and every store narrowed with
 * S(...), which are no-ops for f32.
 */
function kernelsFor(S: "f32" | "f16"): Record<KernelName, { code: string; buffers: number }> {
  return {
    "vector-add": {
      buffers: 3,
      code: `${PARAMS}
@group(0) @binding(1) var<storage, read> a: array<${S}>;
@group(0) @binding(2) var<storage, read> b: array<${S}>;
@group(0) @binding(3) var<storage, read_write> c: array<${S}>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 64u;
  if (i < p.m) { c[i] = ${S}(f32(a[i]) + f32(b[i])); }
}`,
    },
    // 32x32 output tile per workgroup of 8x8 invocations, each computing a 4x4 block strided by 8
    // (rows ty, ty+8, ty+16, ty+24; likewise columns), so neighbouring invocations read
    // neighbouring workgroup-memory words. K is staged 16 at a time: A as 32x16, B as 16x32. 64
    // invocations stay under the compatibility level's limit (llvmpipe's GL compute misbehaves
    // past 128).
    matmul: {
      buffers: 3,
      code: `${PARAMS}
@group(0) @binding(1) var<storage, read> a: array<${S}>;
@group(0) @binding(2) var<storage, read> b: array<${S}>;
@group(0) @binding(3) var<storage, read_write> c: array<${S}>;
var<workgroup> As: array<f32, 512>;
var<workgroup> Bs: array<f32, 512>;
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) li: u32) {
  let tx = li % 8u; let ty = li / 8u;
  let row0 = w.y * 32u; let col0 = w.x * 32u;
  var acc: array<vec4f, 4>;
  for (var t = 0u; t < p.k; t += 16u) {
    for (var e = 0u; e < 8u; e++) {
      let idx = li + e * 64u;
      let ar = row0 + idx / 16u; let ak = t + idx % 16u;
      var av = 0.0;
      if (ar < p.m && ak < p.k) { av = f32(a[ar * p.k + ak]); }
      As[idx] = av;
      let bk = t + idx / 32u; let bc = col0 + idx % 32u;
      var bv = 0.0;
      if (bk < p.k && bc < p.n) { bv = f32(b[bk * p.n + bc]); }
      Bs[idx] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a4 = vec4f(As[ty * 16u + kk], As[(ty + 8u) * 16u + kk], As[(ty + 16u) * 16u + kk], As[(ty + 24u) * 16u + kk]);
      let b4 = vec4f(Bs[kk * 32u + tx], Bs[kk * 32u + tx + 8u], Bs[kk * 32u + tx + 16u], Bs[kk * 32u + tx + 24u]);
      acc[0] += a4.x * b4; acc[1] += a4.y * b4; acc[2] += a4.z * b4; acc[3] += a4.w * b4;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty + 8u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + tx + 8u * j;
      if (r < p.m && col < p.n) { c[r * p.n + col] = ${S}(acc[i][j]); }
    }
  }
}`,
    },
    // One workgroup per row: a tree reduction for the max, then for the sum.
    softmax: {
      buffers: 2,
      code: `${PARAMS}
@group(0) @binding(1) var<storage, read> x: array<${S}>;
@group(0) @binding(2) var<storage, read_write> y: array<${S}>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let r = w.x; let base = r * p.n;
  var m = -3.4e38;
  for (var j = l.x; j < p.n; j += 64u) { m = max(m, f32(x[base + j])); }
  red[l.x] = m; workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) { if (l.x < s) { red[l.x] = max(red[l.x], red[l.x + s]); } workgroupBarrier(); }
  m = red[0]; workgroupBarrier();
  var sum = 0.0;
  for (var j = l.x; j < p.n; j += 64u) { sum += exp(f32(x[base + j]) - m); }
  red[l.x] = sum; workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) { if (l.x < s) { red[l.x] += red[l.x + s]; } workgroupBarrier(); }
  let inv = 1.0 / red[0];
  for (var j = l.x; j < p.n; j += 64u) { y[base + j] = ${S}(exp(f32(x[base + j]) - m) * inv); }
}`,
    },
    layernorm: {
      buffers: 4,
      code: `${PARAMS}
@group(0) @binding(1) var<storage, read> x: array<${S}>;
@group(0) @binding(2) var<storage, read> wt: array<${S}>;
@group(0) @binding(3) var<storage, read> bs: array<${S}>;
@group(0) @binding(4) var<storage, read_write> y: array<${S}>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let r = w.x; let base = r * p.n;
  var s0 = 0.0;
  for (var j = l.x; j < p.n; j += 64u) { s0 += f32(x[base + j]); }
  red[l.x] = s0; workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) { if (l.x < s) { red[l.x] += red[l.x + s]; } workgroupBarrier(); }
  let mean = red[0] / f32(p.n); workgroupBarrier();
  var v = 0.0;
  for (var j = l.x; j < p.n; j += 64u) { let d = f32(x[base + j]) - mean; v += d * d; }
  red[l.x] = v; workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) { if (l.x < s) { red[l.x] += red[l.x + s]; } workgroupBarrier(); }
  let inv = inverseSqrt(red[0] / f32(p.n) + p.eps);
  for (var j = l.x; j < p.n; j += 64u) { y[base + j] = ${S}((f32(x[base + j]) - mean) * inv * f32(wt[j]) + f32(bs[j])); }
}`,
    },
    // Fused attention, flash style: each invocation owns one query row and keeps an online
    // softmax (running max, running sum, running output), so no S x S matrix exists. d <= 128.
    attention: {
      buffers: 4,
      code: `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<${S}>;
@group(0) @binding(2) var<storage, read> k: array<${S}>;
@group(0) @binding(3) var<storage, read> v: array<${S}>;
@group(0) @binding(4) var<storage, read_write> o: array<${S}>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x; let bh = g.y;
  if (i >= p.s) { return; }
  let D = p.d; let S = p.s;
  let qo = (bh * S + i) * D;
  var acc: array<f32, 128>;
  for (var t = 0u; t < D; t++) { acc[t] = 0.0; }
  var m = -3.4e38; var l = 0.0;
  let scale = inverseSqrt(f32(D));
  var last = S;
  if (p.causal == 1u) { last = i + 1u; }
  for (var j = 0u; j < last; j++) {
    let ko = (bh * S + j) * D;
    var dot = 0.0;
    for (var t = 0u; t < D; t++) { dot += f32(q[qo + t]) * f32(k[ko + t]); }
    dot *= scale;
    let mn = max(m, dot); let corr = exp(m - mn); let pj = exp(dot - mn);
    l = l * corr + pj;
    for (var t = 0u; t < D; t++) { acc[t] = acc[t] * corr + pj * f32(v[ko + t]); }
    m = mn;
  }
  for (var t = 0u; t < D; t++) { o[qo + t] = ${S}(acc[t] / l); }
}`,
    },
  };
}

export const WGSL: Record<KernelName, { code: string; buffers: number }> = kernelsFor("f32");

/** The f16 variants (`enable f16;`), for adapters with shader-f16. */
export const WGSL_F16: Record<KernelName, { code: string; buffers: number }> = Object.fromEntries(
  Object.entries(kernelsFor("f16")).map(([k, v]) => [k, { ...v, code: `enable f16;\n${v.code}` }]),
) as Record<KernelName, { code: string; buffers: number }>;

/** The f16 matmul (kept as its own export: binary16 storage, f32 accumulation). */
export const WGSL_MATMUL_F16 = WGSL_F16.matmul.code;

type Gpu = {
  requestAdapter(o?: Record<string, unknown>): Promise<GPUAdapterLike | null>;
};
type GPUAdapterLike = {
  info: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  features: Set<string>;
  requestDevice(d?: Record<string, unknown>): Promise<any>;
};

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;

/** A user's WGSL kernel implementing a catalog kernel's contract (bindings, output). */
export interface UserWgslKernel {
  kernel: KernelName;
  label: string;
  code: string;
  entryPoint: string;
  dispatch: (s: NativeShape) => [number, number, number];
}

class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  private pipelines = new Map<string, any>();
  private scratch: any;
  private coldNext = false;
  constructor(
    private readonly device: any,
    private readonly adapter: GPUAdapterLike,
    private readonly backendFlag: string,
    private readonly globals: Record<string, any>,
    readonly instance: unknown,
  ) {}

  info(): DeviceInfo {
    const i = this.adapter.info;
    const name =
      [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") || "unknown adapter";
    const software = SOFTWARE.test(name) || i.isFallbackAdapter === true;
    const timestamps = this.device.features.has("timestamp-query");
    return {
      backend: this.name,
      device: `${name} (${this.backendFlag})`,
      software,
      timing: `${timestamps ? "GPU timestamp queries" : "host time around queue.onSubmittedWorkDone"}${software ? "; software GPU: not GPU performance" : ""}`,
      details: {
        backend: this.backendFlag,
        features: [...this.adapter.features].sort(),
        timestampQuery: timestamps,
      },
    };
  }

  supports(_kernel: KernelName, dtype: Dtype): string | undefined {
    if (dtype !== "f16") return undefined;
    return this.device.features.has("shader-f16") ? undefined : "this adapter has no shader-f16";
  }

  private async pipeline(key: string, code: string, entryPoint: string) {
    let p = this.pipelines.get(key);
    if (!p) {
      this.device.pushErrorScope("validation");
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
      const error = await this.device.popErrorScope();
      if (error) throw new Error(`the WGSL kernel ${key} does not compile here: ${error.message}`);
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** A backend running a user's WGSL kernel for a catalog contract on this same device. */
  withUserKernel(user: UserWgslKernel): Backend {
    return {
      name: `webgpu:${user.label}`,
      info: () => ({ ...this.info(), backend: `webgpu:${user.label}` }),
      supports: userKernelSupports(user.kernel, "WGSL"),
      run: (k, s, inputs, output) => this.run(k, s, inputs, output, "f32", user),
    };
  }

  async run(
    kernel: KernelName,
    s: NativeShape,
    inputs: Float32Array[],
    output: Float32Array,
    dtype: Dtype = "f32",
    user?: UserWgslKernel,
  ): Promise<number> {
    const { GPUBufferUsage, GPUMapMode } = this.globals;
    const dev = this.device;
    const pipeline = user
      ? await this.pipeline(`${user.label}:${user.entryPoint}`, user.code, user.entryPoint)
      : dtype === "f16"
        ? await this.pipeline(`${kernel}-f16`, WGSL_F16[kernel].code, "main")
        : await this.pipeline(kernel, WGSL[kernel].code, "main");
    // f16: half-precision storage on the GPU; the host packs and unpacks binary16.
    const half = dtype === "f16" && !user;
    const upload = (data: Float32Array) => (half ? packHalf(data) : data);
    const outBytes = half ? packHalf(output).byteLength : output.byteLength;
    dev.pushErrorScope("validation");
    const params = new ArrayBuffer(48);
    const u32 = new Uint32Array(params);
    u32.set([s.m, s.n, s.k, s.b, s.h, s.s, s.d, s.causal ? 1 : 0]);
    new Float32Array(params)[8] = s.eps;
    const uniform = dev.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(uniform, 0, params);
    const buffers = inputs.map((raw) => {
      const data = upload(raw);
      const b = dev.createBuffer({
        size: Math.max(16, data.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      dev.queue.writeBuffer(b, 0, data);
      return b;
    });
    const out = dev.createBuffer({
      size: Math.max(16, outBytes),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    dev.queue.writeBuffer(out, 0, upload(output)); // NaN-poisoned: unwritten elements stay NaN
    const read = dev.createBuffer({
      size: Math.max(16, outBytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const bind = dev.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [uniform, ...buffers, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    let groups: [number, number, number];
    if (user) groups = user.dispatch(s);
    else if (kernel === "vector-add") {
      const n = Math.ceil(s.m / 64);
      groups = n <= 65535 ? [n, 1, 1] : [65535, Math.ceil(n / 65535), 1];
    } else if (kernel === "matmul") groups = [Math.ceil(s.n / 32), Math.ceil(s.m / 32), 1];
    else if (kernel === "softmax" || kernel === "layernorm") groups = [s.m, 1, 1];
    else groups = [Math.ceil(s.s / 64), s.b * s.h, 1];
    if (this.coldNext) {
      // Evict the device's caches: clear a 64 MiB buffer in its own submission, finished before
      // the timed one starts, so neither timestamps nor host time count it.
      this.coldNext = false;
      const size = Math.min(64 << 20, dev.limits?.maxBufferSize ?? 64 << 20) & ~3;
      this.scratch ??= dev.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      const clear = dev.createCommandEncoder();
      clear.clearBuffer(this.scratch);
      dev.queue.submit([clear.finish()]);
    }
    await dev.queue.onSubmittedWorkDone();
    const useTs = dev.features.has("timestamp-query");
    const qs = useTs ? dev.createQuerySet({ type: "timestamp", count: 2 }) : undefined;
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass(
      qs ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(...groups);
    pass.end();
    let tsBuf: any;
    let tsRead: any;
    if (qs) {
      tsBuf = dev.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      tsRead = dev.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      enc.resolveQuerySet(qs, 0, 2, tsBuf, 0);
      enc.copyBufferToBuffer(tsBuf, 0, tsRead, 0, 16);
    }
    enc.copyBufferToBuffer(out, 0, read, 0, Math.max(16, outBytes));
    const t0 = performance.now();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    let ms = performance.now() - t0;
    if (tsRead) {
      await tsRead.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(tsRead.getMappedRange());
      ms = Number(t[1]! - t[0]!) / 1e6;
      tsRead.unmap();
    }
    const error = await dev.popErrorScope();
    if (error) throw new Error(`WebGPU rejected the ${kernel} dispatch: ${error.message}`);
    await read.mapAsync(GPUMapMode.READ);
    if (half) {
      const bits = new Uint16Array(read.getMappedRange(), 0, output.length);
      for (let i = 0; i < output.length; i++) output[i] = fromHalfBits(bits[i]!);
    } else output.set(new Float32Array(read.getMappedRange(), 0, output.length));
    read.unmap();
    for (const b of [uniform, ...buffers, out, read, tsBuf, tsRead]) b?.destroy();
    return ms;
  }

  /** Start the next sample with cold caches (a 64 MiB clear before it, not timed). */
  flush(): void {
    this.coldNext = true;
  }

  dispose(): void {
    this.scratch?.destroy();
    this.device.destroy();
  }
}

const shared = new Map<string, Promise<{ backend?: WebGpuBackend; unavailable?: Unavailable }>>();

let eglStarted: Promise<boolean> | undefined;
/**
 * Open an EGL display once in this process (through Dawn's OpenGL ES backend), for NVIDIA's
 * Vulkan driver, which needs libEGL loaded before its first instance. False when there is no EGL.
 */
function initEgl(mod: { create(flags: string[]): Gpu }): Promise<boolean> {
  eglStarted ??= (async () => {
    try {
      return (
        (await mod.create(["backend=opengles"]).requestAdapter({ featureLevel: "compatibility" })) !== null
      );
    } catch {
      return false;
    }
  })();
  return eglStarted;
}

/**
 * Start the WebGPU backend through dawn.node (the `webgpu` package). Adapter choice is
 * explicit: Dawn's default (Vulkan on a real GPU) first; without one, stock Mesa through
 * EGL surfaceless with `backend=opengles` at the compatibility feature level (a software GPU in CI).
 * `force` (or GPUCI_WEBGPU_BACKEND=vulkan|opengles) picks one; each choice is started once.
 */
export function webgpuBackend(options: { force?: "vulkan" | "opengles" } = {}): Promise<{
  backend?: Backend & { withUserKernel?(u: UserWgslKernel): Backend };
  unavailable?: Unavailable;
}> {
  const forced = options.force ?? process.env.GPUCI_WEBGPU_BACKEND;
  if (forced && forced !== "vulkan" && forced !== "opengles")
    return Promise.resolve({
      unavailable: {
        name: "webgpu",
        reason: `GPUCI_WEBGPU_BACKEND=${forced} is not a backend: use vulkan or opengles (or unset it)`,
      },
    });
  const key = forced ?? "default";
  let started = shared.get(key);
  if (started) return started;
  started = (async () => {
    process.env.EGL_PLATFORM ??= "surfaceless";
    let mod: { create(flags: string[]): Gpu; globals: Record<string, any> };
    try {
      mod = (await import("webgpu")) as unknown as typeof mod;
    } catch (error) {
      return {
        unavailable: {
          name: "webgpu",
          reason: `the webgpu (dawn.node) package did not load: ${(error as Error).message}`,
        },
      };
    }
    // Dawn quantizes timestamp queries to 65,536 ns by default (a browser's defence against timing
    // attacks): on a real GPU a 50 µs kernel reads 0 or 65.5 µs. gpuci runs trusted code and
    // needs the GPU's own resolution.
    const common = ["disable-dawn-features=timestamp_quantization"];
    const attempts: Array<{ flags: string[]; label: string; options: Record<string, unknown> }> = [];
    if (!forced || forced === "vulkan")
      attempts.push({
        flags: forced ? ["backend=vulkan", ...common] : common,
        label: "vulkan/default",
        options: { powerPreference: "high-performance" },
      });
    if (!forced || forced === "opengles")
      attempts.push({
        flags: ["backend=opengles", ...common],
        label: "opengles (compatibility)",
        options: { featureLevel: "compatibility" },
      });
    const reasons: string[] = [];
    for (const a of attempts) {
      try {
        let gpu = mod.create(a.flags);
        let adapter = await gpu.requestAdapter(a.options);
        if (!adapter && a.label === "vulkan/default" && (await initEgl(mod))) {
          // NVIDIA's Vulkan driver (libGLX_nvidia.so.0) in a container without X fails
          // vkCreateInstance ("Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'")
          // until libEGL has been loaded into the process; once an EGL display was opened it
          // works. Measured on an H200 (driver 580.159.04): see bench/RESULTS.md, GPU proof run.
          gpu = mod.create(a.flags);
          adapter = await gpu.requestAdapter(a.options);
        }
        if (!adapter) {
          reasons.push(`${a.label}: no adapter`);
          continue;
        }
        const features = ["timestamp-query", "shader-f16"].filter((f) => adapter.features.has(f));
        // Ask for the adapter's own compute limits: the compatibility defaults (128 invocations)
        // are below what the tiled kernels use.
        const lim = (adapter as unknown as { limits: Record<string, number> }).limits;
        const requiredLimits: Record<string, number> = {};
        for (const k of [
          "maxComputeWorkgroupSizeX",
          "maxComputeWorkgroupSizeY",
          "maxComputeInvocationsPerWorkgroup",
          "maxStorageBuffersPerShaderStage",
          "maxStorageBufferBindingSize",
          "maxBufferSize",
          "maxComputeWorkgroupStorageSize",
        ])
          if (typeof lim?.[k] === "number") requiredLimits[k] = lim[k]!;
        const device = await adapter.requestDevice({
          requiredFeatures: features,
          ...(process.env.GPUCI_WEBGPU_NO_LIMITS ? {} : { requiredLimits }),
        });
        device.onuncapturederror = (e: { error?: { message?: string } }) => {
          process.emitWarning(`WebGPU: ${e.error?.message ?? "uncaptured error"}`);
        };
        // Keep the GPU instance reachable for the backend's lifetime: if V8 collects it, Dawn tears
        // the instance down under the live device and the process aborts.
        return { backend: new WebGpuBackend(device, adapter, a.label, mod.globals, gpu) };
      } catch (error) {
        reasons.push(`${a.label}: ${(error as Error).message}`);
      }
    }
    return {
      unavailable: {
        name: "webgpu",
        reason: `no WebGPU adapter (${reasons.join("; ")}). On CPU machines install Mesa's EGL/GLES (libegl1 libgles2 libegl-mesa0), or lavapipe (mesa-vulkan-drivers >= 25).`,
      },
    };
  })();
  shared.set(key, started);
  return started;
}
