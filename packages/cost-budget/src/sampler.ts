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

/** The nvidia-smi query {@link ClockSampler} runs (every field exists since long before driver 450). */
export const CLOCK_QUERY = "utilization.gpu,clocks.sm,clocks.max.sm,temperature.gpu,power.draw";

/** One GPU's clock reading. Absent values were `[N/A]`. */
export interface ClockSample {
  gpu: number;
  utilizationPercent?: number;
  smMHz?: number;
  maxSmMHz?: number;
  tempC?: number;
  powerW?: number;
}

/** Parse one `--query-gpu=${CLOCK_QUERY} --format=csv,noheader,nounits` output. */
export function parseClockCsv(text: string, gpuIds?: number[]): ClockSample[] {
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
      const [u, sm, max, temp, power] = line.split(",");
      const s: ClockSample = { gpu: gpuIds?.[i] ?? i };
      const set = <K extends keyof ClockSample>(k: K, v: number | undefined) => {
        if (v !== undefined) (s as unknown as Record<string, number>)[k] = v;
      };
      set("utilizationPercent", num(u));
      set("smMHz", num(sm));
      set("maxSmMHz", num(max));
      set("tempC", num(temp));
      set("powerW", num(power));
      return s;
    });
}

/**
 * What the GPUs ran at while one command ran. The clock and power are means over the busy
 * readings only (utilisation ≥ {@link BUSY_UTILIZATION} %, or no utilisation reported): an idle
 * GPU drops its clock (an H200 reads 345 MHz idle, 1980 MHz at full boost), which says nothing
 * about the run. `smMHz` is undefined when no busy reading was taken (a command shorter than
 * the sampling interval, or nvidia-smi unavailable).
 */
export interface ClockSummary {
  available: boolean;
  reason?: string;
  /** Readings taken (each covers every visible GPU). */
  samples: number;
  /** Readings with a busy GPU, the ones the means below come from. */
  busySamples: number;
  smMHz?: number;
  minSmMHz?: number;
  maxSmMHz?: number;
  /** The GPU's highest SM clock (clocks.max.sm), for the reader. */
  boostMHz?: number;
  /** The hottest reading. */
  maxTempC?: number;
  powerW?: number;
}

/** Utilisation at or above which a reading counts as the command's own. */
export const BUSY_UTILIZATION = 10;

/**
 * Reads the SM clock, temperature and power through nvidia-smi while one command runs (the
 * A/B starts one around each round's command): a reading at start and then one every
 * interval, in bounded memory (running sums, no list).
 */
export class ClockSampler {
  private timer?: NodeJS.Timeout;
  private running = false;
  private inFlight?: Promise<void>;
  private sums = { sm: 0, power: 0, smN: 0, powerN: 0 };
  private readonly summary: ClockSummary = { available: true, samples: 0, busySamples: 0 };

  constructor(
    private readonly options: { intervalMs: number; env?: NodeJS.ProcessEnv; gpuIds?: number[] } = {
      intervalMs: 250,
    },
  ) {}

  start(): void {
    this.running = true;
    this.tick();
  }

  private tick(): void {
    if (!this.running) return;
    this.inFlight = this.sampleOnce().finally(() => {
      if (this.running && this.summary.available)
        this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
    });
  }

  private async sampleOnce(): Promise<void> {
    const ids = this.options.gpuIds;
    const args = [`--query-gpu=${CLOCK_QUERY}`, "--format=csv,noheader,nounits"];
    if (ids?.length) args.push(`--id=${ids.join(",")}`);
    const r = await execBounded("nvidia-smi", args, {
      timeoutMs: Math.min(Math.max(this.options.intervalMs * 4, 2000), 10_000),
      env: this.options.env,
    });
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
    const round = parseClockCsv(r.stdout, ids);
    if (!round.length) return;
    this.summary.samples += 1;
    const busy = round.filter(
      (s) => s.utilizationPercent === undefined || s.utilizationPercent >= BUSY_UTILIZATION,
    );
    for (const s of round) {
      if (s.maxSmMHz !== undefined) this.summary.boostMHz = Math.max(this.summary.boostMHz ?? 0, s.maxSmMHz);
      if (s.tempC !== undefined)
        this.summary.maxTempC = Math.max(this.summary.maxTempC ?? -Infinity, s.tempC);
    }
    if (!busy.length) return;
    this.summary.busySamples += 1;
    for (const s of busy) {
      if (s.smMHz !== undefined) {
        this.sums.sm += s.smMHz;
        this.sums.smN += 1;
        this.summary.minSmMHz = Math.min(this.summary.minSmMHz ?? Infinity, s.smMHz);
        this.summary.maxSmMHz = Math.max(this.summary.maxSmMHz ?? 0, s.smMHz);
      }
      if (s.powerW !== undefined) {
        this.sums.power += s.powerW;
        this.sums.powerN += 1;
      }
    }
  }

  /** Stop; what was read so far. */
  async stop(): Promise<ClockSummary> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
    const out: ClockSummary = { ...this.summary };
    if (this.sums.smN) out.smMHz = this.sums.sm / this.sums.smN;
    if (this.sums.powerN) out.powerW = this.sums.power / this.sums.powerN;
    return out;
  }
}
