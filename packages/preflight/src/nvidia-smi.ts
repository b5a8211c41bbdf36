import { XMLParser } from "fast-xml-parser";

/** One GPU as nvidia-smi describes it. Absent fields were `N/A`, `[Not Supported]` or missing: never zero. */
export interface GpuInfo {
  index: number;
  name?: string;
  uuid?: string;
  pciBusId?: string;
  driverVersion?: string;
  /** The highest CUDA version the driver supports. */
  cudaVersion?: string;
  memoryTotalMiB?: number;
  memoryUsedMiB?: number;
  memoryFreeMiB?: number;
  temperatureC?: number;
  /** Temperature at which the GPU slows down (hardware slowdown threshold). */
  slowdownTemperatureC?: number;
  utilizationPercent?: number;
  /** Volatile (since last reboot) uncorrectable ECC errors, summed over DRAM and SRAM. */
  eccUncorrectedVolatile?: number;
  retiredPagesPending?: boolean;
  remappedRowsPending?: boolean;
  remappedRowsFailure?: boolean;
  resetRequired?: boolean;
  /** Active clock event (throttle) reasons, normalised names: `hw_slowdown`, `sw_power_cap`, … */
  throttleReasons?: string[];
  persistenceMode?: boolean;
  computeMode?: string;
  migEnabled?: boolean;
  migPending?: boolean;
  migDevices?: number;
  pcieGenCurrent?: number;
  pcieGenMax?: number;
  pcieWidthCurrent?: number;
  pcieWidthMax?: number;
  powerDrawW?: number;
  powerLimitW?: number;
  processes?: GpuProcess[];
}

/** A process nvidia-smi lists on a GPU. */
export interface GpuProcess {
  pid: number;
  /** C (compute), G (graphics) or C+G / M+C. */
  type?: string;
  name?: string;
  usedMemoryMiB?: number;
}

/** What one nvidia-smi query returned. */
export interface GpuInventory {
  driverVersion?: string;
  cudaVersion?: string;
  gpus: GpuInfo[];
  /** "xml" or "csv": which query produced it. */
  source: "xml" | "csv";
  /** `<attached_gpus>` when it differs from the GPUs listed (a GPU whose handle could not be read, a subset). */
  attachedGpus?: number;
}

const ABSENT =
  /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|Requested functionality has been deprecated|None)\]?$/i;

/** Normalise an nvidia-smi value: trimmed text, or undefined for N/A-like values. */
export function smiText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object") {
    const text = (value as Record<string, unknown>)["#text"];
    return text === undefined ? undefined : smiText(text);
  }
  const s = String(value).replace(/\s+/g, " ").trim();
  if (s === "" || ABSENT.test(s)) return undefined;
  return s;
}

/** The leading number of an nvidia-smi value ("23034 MiB", "45 C", "16x", "27.22 W"); undefined when absent. */
export function smiNumber(value: unknown): number | undefined {
  const s = smiText(value);
  if (s === undefined) return undefined;
  const m = /^-?\d+(?:\.\d+)?/.exec(s);
  return m ? Number(m[0]) : undefined;
}

function smiYes(value: unknown): boolean | undefined {
  const s = smiText(value);
  if (s === undefined) return undefined;
  if (/^(yes|enabled|active)$/i.test(s)) return true;
  if (/^(no|disabled|not active)$/i.test(s)) return false;
  return undefined;
}

type Node = Record<string, unknown>;
const get = (node: unknown, ...path: string[]): unknown => {
  let cur = node;
  for (const key of path) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Node)[key];
  }
  return cur;
};
const asArray = (v: unknown): unknown[] =>
  v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v];

/** Thrown when nvidia-smi's XML cannot be understood. */
export class SmiParseError extends Error {}

/**
 * Parse `nvidia-smi -q -x` output with a real XML parser. Handles old (`clocks_throttle_reasons`,
 * `power_readings`) and new (`clocks_event_reasons`, `gpu_power_readings`) element names.
 */
export function parseNvidiaSmiXml(xml: string): GpuInventory {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    parseTagValue: false,
    trimValues: true,
    processEntities: true,
  });
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (error) {
    throw new SmiParseError(`not valid XML: ${(error as Error).message}`);
  }
  const log = doc.nvidia_smi_log as Node | undefined;
  if (!log || typeof log !== "object") throw new SmiParseError("no <nvidia_smi_log> element");
  const driverVersion = smiText(log.driver_version);
  const cudaVersion = smiText(log.cuda_version);
  const gpus = asArray(log.gpu).map((g, index) => parseGpu(g as Node, index, driverVersion, cudaVersion));
  const attached = smiNumber(log.attached_gpus);
  // More attached than listed is real output (a GPU whose handle cannot be read, a container that
  // sees a subset, a trimmed capture): parse what is listed and let the checks report the gap.
  if (attached !== undefined && attached < gpus.length)
    throw new SmiParseError(`<attached_gpus> says ${attached} but ${gpus.length} <gpu> elements were found`);
  return {
    driverVersion,
    cudaVersion,
    gpus,
    source: "xml",
    ...(attached !== undefined && attached > gpus.length ? { attachedGpus: attached } : {}),
  };
}

function parseGpu(g: Node, index: number, driverVersion?: string, cudaVersion?: string): GpuInfo {
  const reasons = (get(g, "clocks_event_reasons") ?? get(g, "clocks_throttle_reasons")) as Node | undefined;
  let throttleReasons: string[] | undefined;
  if (reasons && typeof reasons === "object") {
    throttleReasons = Object.entries(reasons)
      .filter(([, v]) => smiYes(v) === true)
      .map(([k]) => k.replace(/^clocks_(event|throttle)_reason_/, ""));
  }
  const power = (get(g, "gpu_power_readings") ?? get(g, "power_readings")) as Node | undefined;
  const volatile = get(g, "ecc_errors", "volatile") as Node | undefined;
  let ecc: number | undefined;
  if (volatile && typeof volatile === "object") {
    for (const [k, v] of Object.entries(volatile)) {
      if (!/uncorrectable/.test(k)) continue;
      const n = smiNumber(v);
      if (n !== undefined) ecc = (ecc ?? 0) + n;
    }
  }
  const mig = get(g, "mig_devices", "mig_device");
  const temp = get(g, "temperature") as Node | undefined;
  const info: GpuInfo = {
    index,
    name: smiText(g.product_name),
    uuid: smiText(g.uuid),
    pciBusId: smiText(get(g, "pci", "pci_bus_id")) ?? smiText(g["@id"]),
    driverVersion,
    cudaVersion,
    memoryTotalMiB: smiNumber(get(g, "fb_memory_usage", "total")),
    memoryUsedMiB: smiNumber(get(g, "fb_memory_usage", "used")),
    memoryFreeMiB: smiNumber(get(g, "fb_memory_usage", "free")),
    temperatureC: smiNumber(get(temp, "gpu_temp")),
    slowdownTemperatureC: smiNumber(get(temp, "gpu_temp_slow_threshold")),
    utilizationPercent: smiNumber(get(g, "utilization", "gpu_util")),
    eccUncorrectedVolatile: ecc,
    retiredPagesPending: smiYes(get(g, "retired_pages", "pending_retirement")),
    remappedRowsPending: smiYes(get(g, "remapped_rows", "remapped_row_pending")),
    remappedRowsFailure: smiYes(get(g, "remapped_rows", "remapped_row_failure")),
    resetRequired: smiYes(get(g, "gpu_reset_status", "reset_required")),
    throttleReasons,
    persistenceMode: smiYes(g.persistence_mode),
    computeMode: smiText(g.compute_mode),
    migEnabled: smiYes(get(g, "mig_mode", "current_mig")),
    migPending: smiYes(get(g, "mig_mode", "pending_mig")),
    migDevices: mig === undefined ? undefined : asArray(mig).length,
    pcieGenCurrent: smiNumber(get(g, "pci", "pci_gpu_link_info", "pcie_gen", "current_link_gen")),
    pcieGenMax: smiNumber(get(g, "pci", "pci_gpu_link_info", "pcie_gen", "max_link_gen")),
    pcieWidthCurrent: smiNumber(get(g, "pci", "pci_gpu_link_info", "link_widths", "current_link_width")),
    pcieWidthMax: smiNumber(get(g, "pci", "pci_gpu_link_info", "link_widths", "max_link_width")),
    powerDrawW: smiNumber(get(power, "power_draw")) ?? smiNumber(get(power, "instant_power_draw")),
    powerLimitW: smiNumber(get(power, "current_power_limit")) ?? smiNumber(get(power, "power_limit")),
  };
  if ("processes" in g) {
    info.processes = asArray(get(g, "processes", "process_info")).map((p) => ({
      pid: smiNumber(get(p, "pid")) ?? -1,
      type: smiText(get(p, "type")),
      name: smiText(get(p, "process_name")),
      usedMemoryMiB: smiNumber(get(p, "used_memory")),
    }));
  }
  // Drop absent fields so reports and JSON never show `undefined` or fake zeros.
  for (const k of Object.keys(info) as Array<keyof GpuInfo>) if (info[k] === undefined) delete info[k];
  return info;
}

/** The fields gpuci asks for when the XML query fails. */
export const CSV_QUERY_FIELDS = [
  "index",
  "name",
  "uuid",
  "pci.bus_id",
  "driver_version",
  "memory.total",
  "memory.used",
  "memory.free",
  "temperature.gpu",
  "utilization.gpu",
  "persistence_mode",
  "compute_mode",
  "power.draw",
  "power.limit",
  "pcie.link.gen.current",
  "pcie.link.gen.max",
  "pcie.link.width.current",
  "pcie.link.width.max",
  "ecc.errors.uncorrected.volatile.total",
] as const;

/**
 * Parse `nvidia-smi --query-gpu=… --format=csv,nounits` output (with its header line), matching
 * columns by name so any subset or order of fields works.
 */
export function parseNvidiaSmiCsv(csv: string): GpuInventory {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new SmiParseError("empty CSV output");
  const header = lines[0]!.split(",").map((h) => h.trim().replace(/\s*\[.*\]$/, ""));
  if (!header.includes("name") && !header.includes("uuid"))
    throw new SmiParseError(`CSV header has neither name nor uuid: "${lines[0]}"`);
  let driverVersion: string | undefined;
  const gpus = lines.slice(1).map((line, i) => {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length)
      throw new SmiParseError(`CSV row ${i + 1} has ${cells.length} cells, header has ${header.length}`);
    const col = (name: string) => {
      const at = header.indexOf(name);
      return at < 0 ? undefined : cells[at];
    };
    const gpu: GpuInfo = {
      index: smiNumber(col("index")) ?? i,
      name: smiText(col("name")),
      uuid: smiText(col("uuid")),
      pciBusId: smiText(col("pci.bus_id")),
      driverVersion: smiText(col("driver_version")),
      memoryTotalMiB: smiNumber(col("memory.total")),
      memoryUsedMiB: smiNumber(col("memory.used")),
      memoryFreeMiB: smiNumber(col("memory.free")),
      temperatureC: smiNumber(col("temperature.gpu")),
      utilizationPercent: smiNumber(col("utilization.gpu")),
      persistenceMode: smiYes(col("persistence_mode")),
      computeMode: smiText(col("compute_mode")),
      powerDrawW: smiNumber(col("power.draw")),
      powerLimitW: smiNumber(col("power.limit")),
      pcieGenCurrent: smiNumber(col("pcie.link.gen.current")),
      pcieGenMax: smiNumber(col("pcie.link.gen.max")),
      pcieWidthCurrent: smiNumber(col("pcie.link.width.current")),
      pcieWidthMax: smiNumber(col("pcie.link.width.max")),
      eccUncorrectedVolatile: smiNumber(col("ecc.errors.uncorrected.volatile.total")),
    };
    driverVersion ??= gpu.driverVersion;
    for (const k of Object.keys(gpu) as Array<keyof GpuInfo>) if (gpu[k] === undefined) delete gpu[k];
    return gpu;
  });
  return { driverVersion, gpus, source: "csv" };
}

/** What a failed nvidia-smi call means and what to do about it. */
export interface SmiDiagnosis {
  status: "fail" | "warn" | "error";
  summary: string;
  remedy: string;
}

/**
 * Explain a failed nvidia-smi call from its exit code and output (codes from `nvidia-smi -h`:
 * 2 invalid argument, 9 driver not loaded, 14 infoROM corrupted, 15 GPU fallen off the bus).
 */
export function diagnoseSmiFailure(exitCode: number | null, output: string): SmiDiagnosis {
  const text = output.trim();
  const field = /Field "([^"]+)" is not a valid field to query/.exec(text);
  if (field)
    return {
      status: "error",
      summary: `this nvidia-smi does not know the field "${field[1]}" (exit ${exitCode})`,
      remedy:
        "The driver is older than the query expects; update the NVIDIA driver, or report the field to gpuci.",
    };
  if (/Driver\/library version mismatch/i.test(text))
    return {
      status: "fail",
      summary: "NVML driver/library version mismatch: the kernel module and the user-space driver differ",
      remedy:
        "The driver was upgraded without a reboot. Reboot the runner (or reload the nvidia kernel modules), or pin the driver package so unattended upgrades stop replacing it.",
    };
  if (/couldn't communicate with the NVIDIA driver/i.test(text) || exitCode === 9)
    return {
      status: "fail",
      summary: `the NVIDIA driver is not loaded${exitCode === null ? "" : ` (exit ${exitCode})`}`,
      remedy:
        "Load the driver (`sudo modprobe nvidia`), check `dmesg | grep -i nvrm`, and make sure the latest driver is installed and the machine was rebooted after installing it.",
    };
  if (exitCode === 15 || /fallen off the bus/i.test(text))
    return {
      status: "fail",
      summary: "a GPU has fallen off the bus (exit 15)",
      remedy:
        "Take the runner out of the pool: the GPU needs a node reboot or hardware service (check `dmesg` for Xid 79).",
    };
  if (exitCode === 14 || /infoROM is corrupted/i.test(text))
    return {
      status: "warn",
      summary: "the GPU's infoROM is corrupted (exit 14)",
      remedy:
        "The GPU still works, but ECC and page retirement data may be wrong; schedule an infoROM update or an RMA.",
    };
  return {
    status: "fail",
    summary: `nvidia-smi failed (exit ${exitCode ?? "none"}): ${text.split("\n")[0]?.slice(0, 200) || "no output"}`,
    remedy:
      "Run `nvidia-smi` on the runner by hand and fix what it reports; gpuci cannot check the GPU until it answers.",
  };
}
