import { readFile } from "node:fs/promises";
import { execBounded } from "@gpuci/process";
import type { Finding, Status } from "@gpuci/report";
import {
  CSV_QUERY_FIELDS,
  diagnoseSmiFailure,
  type GpuInfo,
  type GpuInventory,
  parseNvidiaSmiCsv,
  parseNvidiaSmiXml,
} from "../nvidia-smi.js";
import type { PreflightConfig } from "../schema.js";

/** The result of asking nvidia-smi: the `gpu.smi` finding and, when it answered, the inventory. */
export interface SmiQuery {
  finding: Finding;
  inventory?: GpuInventory;
}

/**
 * Ask nvidia-smi once for everything (`-q -x`); when that call fails, fall back to one
 * `--query-gpu` CSV call. Bounded by `timeoutMs` per call.
 */
export async function queryNvidiaSmi(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<SmiQuery> {
  const t0 = performance.now();
  const base = { id: "gpu.smi", title: "nvidia-smi answers" };
  const xml = await execBounded("nvidia-smi", ["-q", "-x"], { timeoutMs, env });
  const ms = () => Math.round(performance.now() - t0);
  if (xml.error?.code === "ENOENT")
    return {
      finding: {
        ...base,
        status: "fail",
        summary: "nvidia-smi is not on PATH: no NVIDIA driver is installed, or this is not a GPU runner",
        remedy:
          "Run the job on a GPU runner (runs-on: [self-hosted, gpu]) with the NVIDIA driver installed, or set preflight.gpu.min: 0 for CPU-only jobs.",
        durationMs: ms(),
      },
    };
  if (xml.timedOut)
    return {
      finding: {
        ...base,
        status: "fail",
        summary: `nvidia-smi did not answer within ${timeoutMs / 1000} s (stopped)`,
        remedy:
          "A hung nvidia-smi usually means a wedged driver or GPU: check `dmesg` for Xid errors, enable persistence mode (`nvidia-smi -pm 1`), and reboot the runner if it persists.",
        durationMs: ms(),
      },
    };
  if (xml.exitCode === 0) {
    try {
      const inventory = parseNvidiaSmiXml(xml.stdout);
      const missing =
        inventory.attachedGpus !== undefined ? inventory.attachedGpus - inventory.gpus.length : 0;
      const subset = Boolean(env.NVIDIA_VISIBLE_DEVICES || env.CUDA_VISIBLE_DEVICES);
      return {
        finding: {
          ...base,
          status: missing > 0 && !subset ? "fail" : missing > 0 ? "warn" : "pass",
          summary: `answered in ${ms()} ms: driver ${inventory.driverVersion ?? "?"}, CUDA ${inventory.cudaVersion ?? "?"}, ${inventory.gpus.length} GPU(s)${missing > 0 ? `; ${inventory.attachedGpus} attached but ${missing} not listed` : ""}`,
          ...(missing > 0
            ? {
                remedy: subset
                  ? "This runner sees a subset of the machine's GPUs (NVIDIA_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES); if the missing ones were meant for this job, fix the device list."
                  : "A GPU the driver counts cannot be read: check `dmesg` for Xid errors (79: fallen off the bus), reseat or reset it (`nvidia-smi -r` as root), or take the runner out of service.",
              }
            : {}),
          durationMs: ms(),
        },
        inventory,
      };
    } catch (error) {
      // Garbage XML: try the CSV query before giving up.
      const csv = await queryCsv(env, timeoutMs);
      if (csv)
        return {
          finding: {
            ...base,
            status: "warn",
            summary: `XML output unreadable (${(error as Error).message}); used the CSV query`,
            remedy: "Update the NVIDIA driver; its XML output could not be parsed.",
            durationMs: ms(),
          },
          inventory: csv,
        };
      return {
        finding: {
          ...base,
          status: "error",
          summary: `nvidia-smi printed output gpuci cannot read: ${(error as Error).message}`,
          remedy:
            "Run `nvidia-smi -q -x` by hand; if it prints garbage the driver install is broken: reinstall it.",
          details: xml.stdout.slice(0, 2000),
          durationMs: ms(),
        },
      };
    }
  }
  const diagnosis = diagnoseSmiFailure(xml.exitCode, `${xml.stdout}\n${xml.stderr}`);
  // The XML call can fail where a simple query still works (exit 2/3 on some drivers).
  if (diagnosis.status !== "fail" || ![9, 15].includes(xml.exitCode ?? -1)) {
    const csv = await queryCsv(env, timeoutMs);
    if (csv)
      return {
        finding: {
          ...base,
          status: diagnosis.status === "fail" ? "warn" : diagnosis.status,
          summary: `nvidia-smi -q -x failed (${diagnosis.summary}); the CSV query answered`,
          remedy: diagnosis.remedy,
          durationMs: ms(),
        },
        inventory: csv,
      };
  }
  return {
    finding: {
      ...base,
      ...diagnosis,
      details: `${xml.stdout}${xml.stderr}`.slice(0, 4000) || undefined,
      durationMs: ms(),
    },
  };
}

async function queryCsv(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<GpuInventory | undefined> {
  const r = await execBounded(
    "nvidia-smi",
    [`--query-gpu=${CSV_QUERY_FIELDS.join(",")}`, "--format=csv,nounits"],
    {
      timeoutMs,
      env,
    },
  );
  if (r.exitCode !== 0) return undefined;
  try {
    const inv = parseNvidiaSmiCsv(r.stdout);
    return inv.gpus.length ? inv : undefined;
  } catch {
    return undefined;
  }
}

const label = (g: GpuInfo) => `GPU ${g.index}${g.name ? ` (${g.name})` : ""}`;

function perGpu(
  id: string,
  title: string,
  gpus: GpuInfo[],
  judge: (g: GpuInfo) => { status: Status; note?: string },
  remedy: string,
  passSummary: string,
): Finding {
  const bad: string[] = [];
  let status: Status = "pass";
  const order: Status[] = ["pass", "warn", "fail"];
  for (const g of gpus) {
    const v = judge(g);
    if (v.status !== "pass") {
      bad.push(`${label(g)}: ${v.note}`);
      if (order.indexOf(v.status) > order.indexOf(status)) status = v.status;
    }
  }
  return status === "pass"
    ? { id, title, status, summary: passSummary }
    : { id, title, status, summary: bad.join("; "), remedy };
}

/** Compare dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Read the kernel module's version from /proc/driver/nvidia/version (absent on non-GPU hosts). */
export async function readKernelModuleVersion(
  path = "/proc/driver/nvidia/version",
): Promise<string | undefined> {
  try {
    const text = await readFile(path, "utf8");
    return /Kernel Module(?: for [\w-]+)?\s+(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Every GPU check that reads the inventory. */
export function gpuFindings(
  inventory: GpuInventory,
  config: PreflightConfig,
  kernelModuleVersion: string | undefined,
): Finding[] {
  const gpus = inventory.gpus;
  const cfg = config.gpu;
  const findings: Finding[] = [];

  findings.push({
    id: "gpu.inventory",
    title: "GPU inventory",
    status: "pass",
    summary: gpus.map((g) => `${label(g)} ${g.memoryTotalMiB ?? "?"} MiB`).join(", ") || "no GPUs",
    data: {
      gpus,
      driverVersion: inventory.driverVersion,
      cudaVersion: inventory.cudaVersion,
      source: inventory.source,
    },
  });

  findings.push(
    gpus.length >= cfg.min
      ? {
          id: "gpu.count",
          title: "GPU count",
          status: "pass",
          summary: `${gpus.length} GPU(s), ${cfg.min} needed`,
        }
      : {
          id: "gpu.count",
          title: "GPU count",
          status: "fail",
          summary: `${gpus.length} GPU(s) visible, ${cfg.min} needed`,
          remedy:
            "Run on a runner with enough GPUs (check CUDA_VISIBLE_DEVICES and the runner's labels), or lower preflight.gpu.min.",
        },
  );

  if (cfg.minFreeMemoryGiB !== undefined) {
    const need = cfg.minFreeMemoryGiB;
    findings.push(
      perGpu(
        "gpu.memory",
        "GPU free memory",
        gpus,
        (g) =>
          g.memoryFreeMiB === undefined
            ? { status: "warn", note: "free memory unknown" }
            : g.memoryFreeMiB / 1024 >= need
              ? { status: "pass" }
              : {
                  status: "fail",
                  note: `${(g.memoryFreeMiB / 1024).toFixed(1)} GiB free, ${need} GiB needed`,
                },
        "Stop what is holding GPU memory (see gpu.processes) or lower preflight.gpu.minFreeMemoryGiB.",
        `every GPU has ≥ ${need} GiB free`,
      ),
    );
  } else {
    findings.push({
      id: "gpu.memory",
      title: "GPU free memory",
      status: "pass",
      summary: gpus
        .map(
          (g) =>
            `${label(g)}: ${g.memoryFreeMiB === undefined ? "?" : (g.memoryFreeMiB / 1024).toFixed(1)} GiB free`,
        )
        .join(", "),
    });
  }

  findings.push(
    perGpu(
      "gpu.temperature",
      "GPU temperature",
      gpus,
      (g) => {
        if (g.temperatureC === undefined) return { status: "pass" };
        const limit =
          cfg.maxTemperatureC ?? (g.slowdownTemperatureC !== undefined ? g.slowdownTemperatureC - 5 : 85);
        return g.temperatureC >= limit
          ? { status: "fail", note: `${g.temperatureC} °C, limit ${limit} °C` }
          : { status: "pass" };
      },
      "Let the GPU cool (check fans and airflow) before timing anything, or raise preflight.gpu.maxTemperatureC.",
      gpus.map((g) => `${g.temperatureC ?? "?"} °C`).join(", "),
    ),
  );

  findings.push(
    perGpu(
      "gpu.ecc",
      "uncorrectable ECC errors",
      gpus,
      (g) =>
        (g.eccUncorrectedVolatile ?? 0) > 0
          ? { status: "fail", note: `${g.eccUncorrectedVolatile} volatile uncorrectable ECC error(s)` }
          : { status: "pass" },
      "Results from this GPU cannot be trusted: drain the runner, reset the GPU (`nvidia-smi -r`) or reboot, and RMA it if errors return.",
      "no volatile uncorrectable ECC errors",
    ),
  );

  findings.push(
    perGpu(
      "gpu.retired",
      "page retirement / row remapping",
      gpus,
      (g) => {
        const notes: string[] = [];
        if (g.resetRequired) notes.push("reset required");
        if (g.retiredPagesPending) notes.push("page retirement pending");
        if (g.remappedRowsPending) notes.push("row remapping pending");
        if (g.remappedRowsFailure) notes.push("row remapping failed");
        return notes.length ? { status: "fail", note: notes.join(", ") } : { status: "pass" };
      },
      "Reset the GPU (`nvidia-smi -r` with no processes on it) or reboot the runner so pending retirements take effect; a remapping failure needs an RMA.",
      "nothing pending",
    ),
  );

  findings.push(
    perGpu(
      "gpu.throttle",
      "clock throttling",
      gpus,
      (g) => {
        const active = g.throttleReasons ?? [];
        const hard = active.filter((r) =>
          /hw_slowdown|hw_thermal_slowdown|hw_power_brake_slowdown|sw_thermal_slowdown/.test(r),
        );
        if (hard.length) return { status: "fail", note: `hardware slowdown active (${hard.join(", ")})` };
        if (
          active.includes("sw_power_cap") &&
          (active.includes("gpu_idle") || (g.utilizationPercent ?? 100) < 5)
        )
          return { status: "warn", note: "software power cap active while idle" };
        return { status: "pass" };
      },
      "Timings taken now would be invalid: cool the GPU or fix its power delivery; check the power limit (`nvidia-smi -q -d PERFORMANCE,POWER`).",
      "no hardware slowdown",
    ),
  );

  const foreign = (g: GpuInfo) =>
    (g.processes ?? []).filter((p) => p.type !== undefined && /C/.test(p.type) && p.pid !== process.pid);
  findings.push(
    perGpu(
      "gpu.processes",
      "other processes on the GPU",
      gpus,
      (g) => {
        const ps = foreign(g);
        if (ps.length === 0) return { status: "pass" };
        const list = ps
          .map((p) => `${p.name ?? "?"} (pid ${p.pid}, ${p.usedMemoryMiB ?? "?"} MiB)`)
          .join(", ");
        return { status: cfg.exclusive ? "fail" : "warn", note: `${ps.length} compute process(es): ${list}` };
      },
      "Another job shares this GPU and will disturb timings: give the job the runner alone (one job per runner), or set preflight.gpu.exclusive: false to accept it.",
      "no other compute processes",
    ),
  );

  findings.push(
    perGpu(
      "gpu.mig",
      "MIG mode",
      gpus,
      (g) => {
        if (g.migPending !== undefined && g.migEnabled !== undefined && g.migPending !== g.migEnabled)
          return {
            status: "warn",
            note: `MIG change pending (now ${g.migEnabled ? "on" : "off"}, after reset ${g.migPending ? "on" : "off"})`,
          };
        if (cfg.mig === "require" && !g.migEnabled)
          return { status: "fail", note: "MIG is off but preflight.gpu.mig is require" };
        if (cfg.mig === "forbid" && g.migEnabled)
          return { status: "fail", note: `MIG is on (${g.migDevices ?? 0} instances)` };
        return { status: "pass" };
      },
      "Switch MIG with `nvidia-smi -i N -mig 0|1` and reset the GPU, or change preflight.gpu.mig.",
      gpus
        .map((g) =>
          g.migEnabled
            ? `${label(g)}: MIG on, ${g.migDevices ?? 0} instances`
            : `${label(g)}: MIG off or unsupported`,
        )
        .join("; "),
    ),
  );

  findings.push(
    perGpu(
      "gpu.persistence",
      "persistence mode",
      gpus,
      (g) =>
        g.persistenceMode === false
          ? { status: "warn", note: "persistence mode disabled" }
          : { status: "pass" },
      "Enable persistence mode (`sudo nvidia-smi -pm 1`, or the nvidia-persistenced service) so each job does not pay the driver start-up and clocks stay stable.",
      "enabled (or not applicable)",
    ),
  );

  findings.push(
    perGpu(
      "gpu.pcie",
      "PCIe link",
      gpus,
      (g) =>
        g.pcieWidthCurrent !== undefined &&
        g.pcieWidthMax !== undefined &&
        g.pcieWidthCurrent < g.pcieWidthMax
          ? { status: "warn", note: `link x${g.pcieWidthCurrent} of x${g.pcieWidthMax}` }
          : { status: "pass" },
      "A narrow link slows host↔device copies: reseat the card or check the slot/riser. (A lower PCIe generation at idle is normal power saving and is not flagged.)",
      gpus
        .map(
          (g) =>
            `x${g.pcieWidthCurrent ?? "?"}/x${g.pcieWidthMax ?? "?"} gen ${g.pcieGenCurrent ?? "?"}/${g.pcieGenMax ?? "?"}`,
        )
        .join(", "),
    ),
  );

  if (kernelModuleVersion === undefined || inventory.driverVersion === undefined) {
    findings.push({
      id: "gpu.module",
      title: "kernel module matches driver",
      status: "skip",
      summary: "/proc/driver/nvidia/version not readable here",
    });
  } else if (kernelModuleVersion !== inventory.driverVersion) {
    findings.push({
      id: "gpu.module",
      title: "kernel module matches driver",
      status: "fail",
      summary: `kernel module ${kernelModuleVersion} but user-space driver ${inventory.driverVersion}`,
      remedy:
        "The driver was upgraded without a reboot: reboot the runner, and pin the driver packages (apt-mark hold) so unattended upgrades cannot do it mid-week.",
    });
  } else {
    findings.push({
      id: "gpu.module",
      title: "kernel module matches driver",
      status: "pass",
      summary: kernelModuleVersion,
    });
  }

  if (config.cuda.minDriver && inventory.driverVersion) {
    const ok = compareVersions(inventory.driverVersion, config.cuda.minDriver) >= 0;
    findings.push({
      id: "gpu.driver",
      title: "driver version",
      status: ok ? "pass" : "fail",
      summary: `driver ${inventory.driverVersion}, ${config.cuda.minDriver} or newer needed`,
      ...(ok
        ? {}
        : {
            remedy: `Update the NVIDIA driver to ${config.cuda.minDriver} or newer, or lower preflight.cuda.minDriver.`,
          }),
    });
  }
  return findings;
}

/** GPU check ids, for marking them skipped when there is no inventory or in --local mode. */
export const GPU_CHECK_IDS = [
  "gpu.inventory",
  "gpu.count",
  "gpu.memory",
  "gpu.temperature",
  "gpu.ecc",
  "gpu.retired",
  "gpu.throttle",
  "gpu.processes",
  "gpu.mig",
  "gpu.persistence",
  "gpu.pcie",
  "gpu.module",
] as const;
