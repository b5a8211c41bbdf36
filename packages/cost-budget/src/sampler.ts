import { execBounded } from "@gpuci/process";

/** One GPU reading. Absent values were `[N/A]`. */
export interface GpuSample {
  gpu: number;
  utilizationPercent?: number;
  memoryUsedMiB?: number;
  powerW?: number;
}

/** What the sampler saw over a watch, in bounded memory. */
export interface SamplerSummary {
  available: boolean;
  /** Why sampling was unavailable (no nvidia-smi, it failed). */
  reason?: string;
  /** Sampling rounds that succeeded. */
  samples: number;
  gpus: number;
  meanUtilizationPercent?: number;
  maxMemoryUsedMiB?: number;
  /** Energy from power draw × time, summed over GPUs. */
  energyWh?: number;
  /** GPU-seconds with utilisation under 5 %. */
  idleGpuSeconds: number;
  /** GPU-seconds covered by samples that had a utilisation value. */
  measuredGpuSeconds: number;
  /** The last few rounds, newest last (at most RECENT_LIMIT). */
  recent: GpuSample[][];
}

/** How many recent rounds the summary keeps. */
export const RECENT_LIMIT = 60;
const IDLE_UTILIZATION = 5;

/** Parse one `--query-gpu=utilization.gpu,memory.used,power.draw --format=csv,noheader,nounits` output. */
export function parseSampleCsv(text: string, gpuIds?: number[]): GpuSample[] {
  const num = (s: string | undefined) => {
    const t = (s ?? "").trim();
    if (t === "" || /^\[?(N\/A|Not Supported|Unknown Error)\]?$/i.test(t)) return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  };
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "")
    .map((line, i) => {
      const [u, m, p] = line.split(",");
      const s: GpuSample = { gpu: gpuIds?.[i] ?? i };
      const util = num(u);
      const mem = num(m);
      const power = num(p);
      if (util !== undefined) s.utilizationPercent = util;
      if (mem !== undefined) s.memoryUsedMiB = mem;
      if (power !== undefined) s.powerW = power;
      return s;
    });
}

/**
 * GPU ids a job may use, from CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES when they list
 * indices; undefined means "all".
 */
export function visibleGpuIds(env: NodeJS.ProcessEnv): number[] | undefined {
  const raw = env.CUDA_VISIBLE_DEVICES ?? env.NVIDIA_VISIBLE_DEVICES;
  if (raw === undefined || raw === "" || raw === "all") return raw === "" ? [] : undefined;
  if (raw === "none" || raw === "void") return [];
  const ids = raw.split(",").map((s) => s.trim());
  return ids.every((s) => /^\d+$/.test(s)) ? ids.map(Number) : undefined;
}

/**
 * Samples GPU utilisation, memory and power through nvidia-smi at a fixed interval, keeping
 * running totals and a short ring of recent rounds, so memory stays bounded however long it runs.
 */
export class GpuSampler {
  private timer?: NodeJS.Timeout;
  private lastAt?: number;
  private last?: GpuSample[];
  private running = false;
  private inFlight?: Promise<void>;
  private utilSum = 0;
  private utilCount = 0;
  private readonly summary: SamplerSummary = {
    available: true,
    samples: 0,
    gpus: 0,
    idleGpuSeconds: 0,
    measuredGpuSeconds: 0,
    recent: [],
  };

  constructor(
    private readonly options: { intervalMs: number; env?: NodeJS.ProcessEnv; gpuIds?: number[] } = {
      intervalMs: 5000,
    },
  ) {}

  /** Take the first sample now and then one every interval. */
  start(): void {
    this.running = true;
    this.lastAt = performance.now();
    this.tick();
  }

  private tick(): void {
    if (!this.running) return;
    this.inFlight = this.sampleOnce().finally(() => {
      if (this.running && this.summary.available)
        this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
    });
  }

  private account(now: number): void {
    if (!this.last || this.lastAt === undefined) return;
    const dt = (now - this.lastAt) / 1000;
    for (const s of this.last) {
      if (s.powerW !== undefined)
        this.summary.energyWh = (this.summary.energyWh ?? 0) + (s.powerW * dt) / 3600;
      if (s.utilizationPercent !== undefined) {
        this.summary.measuredGpuSeconds += dt;
        if (s.utilizationPercent < IDLE_UTILIZATION) this.summary.idleGpuSeconds += dt;
      }
    }
  }

  private async sampleOnce(): Promise<void> {
    const ids = this.options.gpuIds;
    const args = ["--query-gpu=utilization.gpu,memory.used,power.draw", "--format=csv,noheader,nounits"];
    if (ids?.length) args.push(`--id=${ids.join(",")}`);
    const r = await execBounded("nvidia-smi", args, {
      timeoutMs: Math.min(Math.max(this.options.intervalMs, 1000), 10_000),
      env: this.options.env,
    });
    const now = performance.now();
    if (r.exitCode !== 0) {
      if (this.summary.samples === 0) {
        this.summary.available = false;
        this.summary.reason =
          r.error?.code === "ENOENT"
            ? "nvidia-smi is not on PATH"
            : r.timedOut
              ? "nvidia-smi did not answer"
              : `nvidia-smi exited ${r.exitCode}: ${r.stderr.trim().split("\n")[0] ?? ""}`;
      }
      return;
    }
    const round = parseSampleCsv(r.stdout, ids);
    this.account(now);
    this.last = round;
    this.lastAt = now;
    this.summary.samples += 1;
    this.summary.gpus = Math.max(this.summary.gpus, round.length);
    for (const s of round) {
      if (s.utilizationPercent !== undefined) {
        this.utilSum += s.utilizationPercent;
        this.utilCount += 1;
      }
      if (s.memoryUsedMiB !== undefined)
        this.summary.maxMemoryUsedMiB = Math.max(this.summary.maxMemoryUsedMiB ?? 0, s.memoryUsedMiB);
    }
    this.summary.recent.push(round);
    if (this.summary.recent.length > RECENT_LIMIT) this.summary.recent.shift();
  }

  /** Stop sampling; the last reading counts until now. */
  async stop(): Promise<SamplerSummary> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
    this.account(performance.now());
    this.lastAt = performance.now();
    if (this.utilCount) this.summary.meanUtilizationPercent = this.utilSum / this.utilCount;
    return { ...this.summary, recent: [...this.summary.recent] };
  }
}
