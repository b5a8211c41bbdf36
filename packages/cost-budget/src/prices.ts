/** One row of the built-in price table: on-demand USD per GPU-hour. */
export interface GpuPrice {
  /** The name shown in reports. */
  gpu: string;
  /** Matches nvidia-smi's product name. */
  match: RegExp;
  usdPerGpuHour: number;
  /** Where the price was read, and when (see the package README). */
  source: string;
}

/**
 * Built-in on-demand prices. Cloud prices move: override with `cost.rate` / `cost.rates`.
 * More specific rows come first (H100 PCIe before H100).
 */
export const GPU_PRICES: readonly GpuPrice[] = [
  { gpu: "NVIDIA H200", match: /\bH200\b/i, usdPerGpuHour: 4.54, source: "Modal pricing, 2025" },
  {
    gpu: "NVIDIA H100 PCIe",
    match: /\bH100\b.*\bPCIe\b/i,
    usdPerGpuHour: 2.86,
    source: "Lambda, 1× H100 PCIe, 2026-05",
  },
  {
    gpu: "NVIDIA H100 80GB SXM",
    match: /\bH100\b/i,
    usdPerGpuHour: 3.78,
    source: "Lambda, 1× H100 SXM, 2026-05",
  },
  {
    gpu: "NVIDIA A100 80GB",
    match: /\bA100\b.*80\s?GB/i,
    usdPerGpuHour: 2.4984,
    source: "Modal, A100 80GB, 2026-05",
  },
  { gpu: "NVIDIA A100 40GB", match: /\bA100\b/i, usdPerGpuHour: 1.48, source: "Lambda, A100 40GB, 2026-05" },
  { gpu: "NVIDIA L40S", match: /\bL40S\b/i, usdPerGpuHour: 1.9512, source: "Modal, L40S, 2026-05" },
  { gpu: "NVIDIA L4", match: /\bL4\b/i, usdPerGpuHour: 0.7992, source: "Modal, L4, 2026-05" },
  { gpu: "NVIDIA A10G", match: /\bA10G\b/i, usdPerGpuHour: 1.1, source: "Modal, A10G, 2025" },
  { gpu: "NVIDIA A10", match: /\bA10\b/i, usdPerGpuHour: 0.86, source: "Lambda, A10, 2026-05" },
  { gpu: "NVIDIA T4", match: /\bT4\b/i, usdPerGpuHour: 0.5904, source: "Modal, T4, 2026-05" },
  { gpu: "NVIDIA V100", match: /\bV100/i, usdPerGpuHour: 0.55, source: "Lambda, 8× V100 at $4.40/h, 2024" },
  {
    gpu: "NVIDIA RTX 6000 Ada",
    match: /RTX 6000 Ada/i,
    usdPerGpuHour: 0.77,
    source: "RunPod Secure Cloud, 2025",
  },
  { gpu: "Quadro RTX 6000", match: /Quadro RTX 6000/i, usdPerGpuHour: 0.58, source: "Lambda, 2026-05" },
  { gpu: "GeForce RTX 4090", match: /RTX 4090/i, usdPerGpuHour: 0.59, source: "RunPod Secure Cloud, 2025" },
];

/** The rate gpuci used and why. */
export interface ResolvedRate {
  usdPerGpuHour: number | undefined;
  /** e.g. `cost.rates["*H100*"]`, `built-in: NVIDIA L4 (Modal, L4, 2026-05)`, `cost.rate`. */
  reason: string;
}

/** Match a glob with `*` and `?` against a whole string, case-insensitively. */
export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return re.test(text);
}

/**
 * Choose the rate for a GPU: `cost.rates` (exact name first, then globs in order), then the
 * flat `cost.rate`, then the built-in table.
 */
export function resolveRate(
  gpuName: string | undefined,
  config: { rate?: number; rates?: Record<string, number> } = {},
): ResolvedRate {
  if (gpuName && config.rates) {
    const exact = Object.entries(config.rates).find(([k]) => k.toLowerCase() === gpuName.toLowerCase());
    if (exact) return { usdPerGpuHour: exact[1], reason: `cost.rates["${exact[0]}"]` };
    const glob = Object.entries(config.rates).find(([k]) => /[*?]/.test(k) && globMatch(k, gpuName));
    if (glob) return { usdPerGpuHour: glob[1], reason: `cost.rates["${glob[0]}"] (glob)` };
  }
  if (config.rate !== undefined) return { usdPerGpuHour: config.rate, reason: "cost.rate" };
  if (gpuName) {
    const row = GPU_PRICES.find((p) => p.match.test(gpuName));
    if (row) return { usdPerGpuHour: row.usdPerGpuHour, reason: `built-in: ${row.gpu} (${row.source})` };
    return { usdPerGpuHour: undefined, reason: `no built-in price for "${gpuName}"` };
  }
  return { usdPerGpuHour: undefined, reason: "no GPU detected and no cost.rate set" };
}
