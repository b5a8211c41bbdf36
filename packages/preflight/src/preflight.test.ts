import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseNvidiaSmiCsv, parseNvidiaSmiXml, runPreflight } from "./index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixtures = join(here, "../test/fixtures");
const fakeBin = join(here, "../test/fake-bin");
const fixture = (name: string) => join(fixtures, name);

/** An environment whose nvidia-smi is the fake replaying `xml`. */
function fakeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${fakeBin}:${process.env.PATH}`,
    FAKE_NVIDIA_SMI_XML: fixture("l4-x2-driver-555.xml"),
    FAKE_NVIDIA_SMI_CSV: fixture("tesla-p100.csv"),
    ...extra,
  };
}

const byId = (section: { findings: Array<{ id: string }> }, id: string) => {
  const f = section.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${section.findings.map((x) => x.id).join(", ")}`);
  return f as {
    id: string;
    status: string;
    summary?: string;
    remedy?: string;
    data?: unknown;
    details?: string;
  };
};

describe("nvidia-smi listing fewer GPUs than it says are attached", () => {
  it("parses the GPUs listed and reports the missing one as its own failure (a warning for a device subset)", async () => {
    // The recorded 2×L4 capture with <attached_gpus> raised to 3: what nvidia-smi prints when a
    // GPU's handle cannot be read (fallen off the bus), or a container sees a subset.
    const dir = await mkdtemp(join(tmpdir(), "gpuci-attached-"));
    const xml = (await readFile(fixture("l4-x2-driver-555.xml"), "utf8")).replace(
      "<attached_gpus>2</attached_gpus>",
      "<attached_gpus>3</attached_gpus>",
    );
    await writeFile(join(dir, "smi.xml"), xml);
    expect(parseNvidiaSmiXml(xml)).toMatchObject({ attachedGpus: 3, gpus: [{}, {}] });
    const { section, inventory } = await runPreflight(
      {},
      { env: fakeEnv({ FAKE_NVIDIA_SMI_XML: join(dir, "smi.xml") }) },
    );
    expect(inventory?.gpus).toHaveLength(2);
    const smi = byId(section, "gpu.smi") as { status: string; summary: string; remedy: string };
    expect(smi).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/2 GPU\(s\); 3 attached but 1 not listed/),
    });
    expect(smi.remedy).toMatch(/Xid/);
    const subset = await runPreflight(
      {},
      { env: fakeEnv({ FAKE_NVIDIA_SMI_XML: join(dir, "smi.xml"), CUDA_VISIBLE_DEVICES: "0,1" }) },
    );
    expect(byId(subset.section, "gpu.smi")).toMatchObject({ status: "warn" });
  });
});

describe("nvidia-smi parsing (recorded captures)", () => {
  it("reads a two-GPU L4 capture (driver 555, new element names)", async () => {
    const inv = parseNvidiaSmiXml(await readFile(fixture("l4-x2-driver-555.xml"), "utf8"));
    expect(inv).toMatchObject({ driverVersion: "555.42.06", cudaVersion: "12.5", source: "xml" });
    expect(inv.gpus).toHaveLength(2);
    expect(inv.gpus[0]).toMatchObject({
      index: 0,
      name: "NVIDIA L4",
      uuid: "GPU-c5533cd4-5a60-059e-348d-b6d7466932e4",
      memoryTotalMiB: 23034,
      memoryUsedMiB: 1,
      memoryFreeMiB: 22601,
      temperatureC: 45,
      eccUncorrectedVolatile: 0,
      persistenceMode: false,
      throttleReasons: ["gpu_idle"],
      pcieWidthCurrent: 16,
      pcieWidthMax: 16,
      powerDrawW: 27.22,
      powerLimitW: 72,
      resetRequired: false,
    });
    expect(inv.gpus[0]?.processes).toEqual([
      { pid: 10131, type: "C", name: "ffmpeg", usedMemoryMiB: 389 },
      { pid: 13597, type: "C", name: "ffmpeg", usedMemoryMiB: 1054 },
    ]);
    expect(inv.gpus[1]).toMatchObject({ index: 1, pcieWidthCurrent: 1, temperatureC: 40 });
    // N/A values are absent, never zero.
    expect(inv.gpus[0]).not.toHaveProperty("migEnabled");
    expect(inv.gpus[0]).not.toHaveProperty("slowdownTemperatureC");
  });

  it("reads an A100 MIG capture (driver 510, old throttle names, power_readings)", async () => {
    const inv = parseNvidiaSmiXml(await readFile(fixture("a100-sxm4-40gb-mig-driver-510.xml"), "utf8"));
    expect(inv.gpus[0]).toMatchObject({
      name: "NVIDIA A100-SXM4-40GB",
      migEnabled: true,
      migPending: true,
      migDevices: 2,
      throttleReasons: [],
      slowdownTemperatureC: 89,
      powerDrawW: 66.92,
      powerLimitW: 400,
      processes: [],
    });
    expect(inv.gpus[0]).not.toHaveProperty("eccUncorrectedVolatile");
    expect(inv.gpus[0]).not.toHaveProperty("utilizationPercent");
  });

  it("reads a driver 575 capture with deprecated fields and instant power", async () => {
    const inv = parseNvidiaSmiXml(await readFile(fixture("rtx-4070-laptop-driver-575.xml"), "utf8"));
    expect(inv.gpus[0]).toMatchObject({
      powerDrawW: 11.26,
      persistenceMode: true,
      pcieGenCurrent: 2,
      pcieGenMax: 4,
    });
    expect(inv.gpus[0]).not.toHaveProperty("resetRequired");
  });

  it("reads a CSV capture by header names", async () => {
    const inv = parseNvidiaSmiCsv(await readFile(fixture("tesla-p100.csv"), "utf8"));
    expect(inv.gpus[0]).toMatchObject({
      name: "Tesla P100-PCIE-16GB",
      memoryUsedMiB: 0,
      memoryFreeMiB: 16280,
      temperatureC: 37,
      powerDrawW: 28.16,
    });
  });

  it("reads an H200 capture (driver 580, CUDA 13.0) from the GPU proof run, XML and CSV with units", async () => {
    const want = {
      name: "NVIDIA H200",
      uuid: "GPU-a6a28e90-3ac3-b627-d499-5c5945d93e2f",
      pciBusId: "00000000:00:06.0",
      driverVersion: "580.159.04",
      memoryTotalMiB: 143771,
      memoryUsedMiB: 0,
      memoryFreeMiB: 143156,
      utilizationPercent: 0,
      computeMode: "Default",
      powerLimitW: 700,
    };
    const xml = parseNvidiaSmiXml(await readFile(fixture("h200-driver-580.xml"), "utf8"));
    expect(xml).toMatchObject({ driverVersion: "580.159.04", cudaVersion: "13.0" });
    expect(xml.gpus).toHaveLength(1);
    expect(xml.gpus[0]).toMatchObject({
      ...want,
      migEnabled: false,
      persistenceMode: true,
      pcieGenCurrent: 5,
      pcieWidthCurrent: 16,
      eccUncorrectedVolatile: 0,
      throttleReasons: ["gpu_idle"],
      processes: [],
    });
    // `--format=csv` (units in every cell: "143771 MiB", "0 %", "78.42 W"), as captured.
    const csv = parseNvidiaSmiCsv(await readFile(fixture("h200-driver-580-units.csv"), "utf8"));
    expect(csv.gpus[0]).toMatchObject({ ...want, temperatureC: 36, powerDrawW: 78.42 });
  });

  it("rejects garbage with a clear error", () => {
    expect(() => parseNvidiaSmiXml("%%%% not xml")).toThrow(/nvidia_smi_log|XML/);
    expect(() => parseNvidiaSmiCsv("hello\nworld")).toThrow(/header/);
  });
});

describe("GPU checks against recorded captures", () => {
  it("an idle H200 passes the GPU checks with its real numbers", async () => {
    const { section } = await runPreflight(
      { gpu: { min: 1, minFreeMemoryGiB: 100, exclusive: true, mig: "allow" } },
      { env: fakeEnv({ FAKE_NVIDIA_SMI_XML: fixture("h200-driver-580.xml") }) },
    );
    expect(byId(section, "gpu.inventory").summary).toBe("GPU 0 (NVIDIA H200) 143771 MiB");
    expect(byId(section, "gpu.memory")).toMatchObject({
      status: "pass",
      summary: "every GPU has ≥ 100 GiB free",
    });
    expect(byId(section, "gpu.count").status).toBe("pass");
    // The H200's 141 GB are 139.8 GiB free here: a config that asks for 141 GiB is told so.
    const tight = await runPreflight(
      { gpu: { min: 1, minFreeMemoryGiB: 141, exclusive: false, mig: "allow" } },
      { env: fakeEnv({ FAKE_NVIDIA_SMI_XML: fixture("h200-driver-580.xml") }) },
    );
    expect(byId(tight.section, "gpu.memory")).toMatchObject({
      status: "fail",
      summary: expect.stringContaining("139.8 GiB"),
    });
  });

  it("flags processes, a narrow PCIe link and persistence on the L4 pair", async () => {
    const { section, inventory } = await runPreflight({}, { env: fakeEnv() });
    expect(inventory?.gpus).toHaveLength(2);
    expect(byId(section, "gpu.smi").status).toBe("pass");
    expect(byId(section, "gpu.count").status).toBe("pass");
    expect(byId(section, "gpu.processes")).toMatchObject({
      status: "warn",
      summary: expect.stringContaining("ffmpeg (pid 10131"),
    });
    expect(byId(section, "gpu.pcie")).toMatchObject({
      status: "warn",
      summary: "GPU 1 (NVIDIA L4): link x1 of x16",
    });
    expect(byId(section, "gpu.persistence").status).toBe("warn");
    expect(byId(section, "gpu.ecc").status).toBe("pass");
    expect(byId(section, "gpu.throttle").status).toBe("pass");
    const data = byId(section, "gpu.inventory").data as { gpus: Array<Record<string, unknown>> };
    for (const key of [
      "name",
      "uuid",
      "driverVersion",
      "cudaVersion",
      "memoryTotalMiB",
      "memoryUsedMiB",
      "temperatureC",
    ])
      expect(data.gpus[0]).toHaveProperty(key);
  });

  it("fails other processes when exclusive, too few GPUs, too little memory", async () => {
    const { section } = await runPreflight(
      { gpu: { exclusive: true, min: 4, minFreeMemoryGiB: 40, mig: "allow" } },
      { env: fakeEnv() },
    );
    expect(byId(section, "gpu.processes").status).toBe("fail");
    expect(byId(section, "gpu.count")).toMatchObject({
      status: "fail",
      summary: "2 GPU(s) visible, 4 needed",
    });
    expect(byId(section, "gpu.memory")).toMatchObject({ status: "fail", remedy: expect.any(String) });
    expect(section.status).toBe("fail");
  });

  it("handles MIG per config", async () => {
    const env = fakeEnv({ FAKE_NVIDIA_SMI_XML: fixture("a100-sxm4-40gb-mig-driver-510.xml") });
    const allow = await runPreflight({}, { env });
    expect(byId(allow.section, "gpu.mig")).toMatchObject({
      status: "pass",
      summary: expect.stringContaining("MIG on, 2 instances"),
    });
    const forbid = await runPreflight({ gpu: { mig: "forbid", min: 1, exclusive: false } }, { env });
    expect(byId(forbid.section, "gpu.mig").status).toBe("fail");
  });

  it("compares the kernel module with the user-space driver", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-proc-"));
    const proc = join(dir, "version");
    await writeFile(
      proc,
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0\n",
    );
    const { section } = await runPreflight({}, { env: fakeEnv(), procVersionPath: proc });
    expect(byId(section, "gpu.module")).toMatchObject({
      status: "fail",
      summary: "kernel module 550.54.15 but user-space driver 555.42.06",
      remedy: expect.stringMatching(/reboot/),
    });
    await writeFile(proc, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  555.42.06  Thu Jun 1 2024\n");
    expect(
      byId((await runPreflight({}, { env: fakeEnv(), procVersionPath: proc })).section, "gpu.module").status,
    ).toBe("pass");
  });
});

describe("nvidia-smi failure modes", () => {
  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    [
      "driver not loaded (exit 9)",
      {
        FAKE_NVIDIA_SMI_STDOUT:
          "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
        FAKE_NVIDIA_SMI_EXIT: "9",
      },
      "fail",
      /driver is not loaded/,
    ],
    [
      "NVML mismatch",
      {
        FAKE_NVIDIA_SMI_STDOUT:
          "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183",
        FAKE_NVIDIA_SMI_EXIT: "18",
      },
      "fail",
      /version mismatch/,
    ],
    [
      "fallen off the bus (exit 15)",
      {
        FAKE_NVIDIA_SMI_STDOUT: "Unable to determine the device handle for GPU0000:01:00.0: Unknown Error",
        FAKE_NVIDIA_SMI_EXIT: "15",
      },
      "fail",
      /fallen off the bus/,
    ],
    [
      "infoROM corrupted (exit 14)",
      {
        FAKE_NVIDIA_SMI_STDOUT: "WARNING: infoROM is corrupted at gpu 0000:01:00.0",
        FAKE_NVIDIA_SMI_EXIT: "14",
      },
      "warn",
      /infoROM/,
    ],
    [
      "invalid field (exit 2)",
      {
        FAKE_NVIDIA_SMI_STDOUT: 'Field "clocks_event_reasons.active" is not a valid field to query.',
        FAKE_NVIDIA_SMI_EXIT: "2",
      },
      "error",
      /does not know the field "clocks_event_reasons.active"/,
    ],
    [
      "garbage output",
      { FAKE_NVIDIA_SMI_STDOUT: "\u0001\u0002 garbage <<<< ]]>", FAKE_NVIDIA_SMI_EXIT: "0" },
      "error",
      /cannot read/,
    ],
  ];
  it.each(cases)("%s", async (_name, extra, status, summary) => {
    const { section } = await runPreflight({}, { env: fakeEnv(extra) });
    const f = byId(section, "gpu.smi");
    expect(f.status).toBe(status);
    expect(f.summary).toMatch(summary);
    expect(f.remedy).toBeTruthy();
  });

  it("falls back to the CSV query when the XML call fails", async () => {
    const { section, inventory } = await runPreflight(
      {},
      { env: fakeEnv({ FAKE_NVIDIA_SMI_XML_EXIT: "3" }) },
    );
    expect(inventory?.source).toBe("csv");
    expect(inventory?.gpus[0]?.name).toBe("Tesla P100-PCIE-16GB");
    expect(byId(section, "gpu.smi").summary).toMatch(/CSV query answered/);
  });

  it("does not hang when nvidia-smi hangs", async () => {
    const t0 = Date.now();
    const { section } = await runPreflight(
      { timeoutSeconds: 1 },
      { env: fakeEnv({ FAKE_NVIDIA_SMI_SLEEP: "600" }) },
    );
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(byId(section, "gpu.smi")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/did not answer within 1 s/),
    });
  });

  it("fails without nvidia-smi, unless no GPU is required", async () => {
    const env = { ...process.env, PATH: "/usr/bin:/bin" };
    const { section } = await runPreflight({}, { env });
    expect(byId(section, "gpu.smi")).toMatchObject({
      status: "fail",
      remedy: expect.stringMatching(/gpu.min: 0/),
    });
    const cpu = await runPreflight({ gpu: { min: 0, exclusive: false, mig: "allow" } }, { env });
    expect(byId(cpu.section, "gpu.smi").status).toBe("skip");
  });

  it("--local skips GPU checks with a note and never calls nvidia-smi", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-local-"));
    const log = join(dir, "calls");
    const { section } = await runPreflight({}, { env: fakeEnv({ FAKE_NVIDIA_SMI_LOG: log }), local: true });
    expect(byId(section, "gpu.smi")).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/--local/),
    });
    await expect(readFile(log, "utf8")).rejects.toThrow();
  });
});

describe("CUDA toolkit and PATH", () => {
  it("self-heals PATH from a CUDA install that is not on it", async () => {
    const root = await mkdtemp(join(tmpdir(), "gpuci-cuda-"));
    const bin = join(root, "cuda-12.4/bin");
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, "nvcc"), "#!/bin/sh\necho 'Cuda compilation tools, release 12.4, V12.4.131'\n");
    await chmod(join(bin, "nvcc"), 0o755);
    const githubPath = join(root, "github_path");
    const env: NodeJS.ProcessEnv = {
      ...fakeEnv(),
      PATH: `${fakeBin}:/usr/bin:/bin`,
      GITHUB_PATH: githubPath,
    };
    const { section } = await runPreflight({}, { env, cudaRoots: [root] });
    expect(byId(section, "cuda.path")).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(/gpuci added it/),
    });
    expect(env.PATH?.startsWith(`${bin}:`)).toBe(true);
    expect(await readFile(githubPath, "utf8")).toBe(`${bin}\n`);
    // The healed PATH is used by the toolkit check: nvcc 12.4 on a CUDA 12.5 driver passes.
    expect(byId(section, "cuda.toolkit")).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(/nvcc 12.4/),
    });
  });

  it("fails the real nvcc here against an older driver", async () => {
    const real = execFileSync("nvcc", ["--version"], { encoding: "utf8" });
    const release = /release (\d+\.\d+)/.exec(real)?.[1];
    expect(release).toBeTruthy();
    const { section } = await runPreflight({}, { env: fakeEnv() });
    const f = byId(section, "cuda.toolkit");
    // The L4 capture's driver supports CUDA 12.5; this machine's nvcc is newer.
    expect(f.status).toBe("fail");
    expect(f.summary).toContain(`nvcc ${release} is newer than the CUDA 12.5 driver 555.42.06 supports`);
    expect(f.remedy).toMatch(/pin the CUDA toolkit to 12.5/);
  });
});

describe("python, files, smoke, symbols", () => {
  it("reports a missing torch in the real python3 as a clear finding", async () => {
    const { section } = await runPreflight(
      { python: { torch: true, executable: "python3", timeoutSeconds: 30 } },
      { env: fakeEnv() },
    );
    const f = byId(section, "python.torch");
    expect(f.status).toBe("fail");
    expect(f.summary).toMatch(/import torch failed: ModuleNotFoundError/);
    expect(f.remedy).toMatch(/pip install torch/);
  });

  it("checks files, smoke commands and the symbols of a real shared library", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-proj-"));
    await mkdir(join(dir, "csrc"));
    await writeFile(
      join(dir, "csrc/flash.cpp"),
      'extern "C" int flash_attention_forward(int x) { return x + 1; }\nnamespace flash { int backward(float a) { return (int)a; } }\n',
    );
    execFileSync("g++", ["-shared", "-fPIC", "-o", join(dir, "libflash.so"), join(dir, "csrc/flash.cpp")]);
    const { section } = await runPreflight(
      {
        gpu: { min: 0, exclusive: false, mig: "allow" },
        files: ["csrc/*.cpp", "csrc/flash_attention_science.h"],
        smoke: [
          "echo import ok",
          { command: "echo 'ImportError: no module' >&2; exit 1", timeoutSeconds: 5 },
        ],
        symbols: {
          "libflash.so": ["flash_attention_forward", "flash::backward", "flash_attention_backward"],
        },
      },
      { env: fakeEnv(), cwd: dir },
    );
    expect(byId(section, "files.csrc/*.cpp").status).toBe("pass");
    expect(byId(section, "files.csrc/flash_attention_science.h")).toMatchObject({
      status: "fail",
      remedy: expect.any(String),
    });
    expect(byId(section, "smoke.0").status).toBe("pass");
    expect(byId(section, "smoke.1")).toMatchObject({
      status: "fail",
      details: expect.stringContaining("ImportError"),
    });
    expect(byId(section, "symbols.libflash.so")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/^missing flash_attention_backward \(/),
    });
  });

  it("checks host env names without recording values", async () => {
    const { section } = await runPreflight(
      {
        host: {
          env: ["GPUCI_TEST_SECRET", "GPUCI_NOT_SET"],
          commands: ["git", "no-such-program-x"],
          minFreeDiskGiB: 0,
          minAvailableMemoryGiB: 0,
        },
      },
      { env: fakeEnv({ GPUCI_TEST_SECRET: "s3cr3t-value" }) },
    );
    expect(byId(section, "host.env")).toMatchObject({ status: "fail", summary: "not set: GPUCI_NOT_SET" });
    expect(JSON.stringify(section)).not.toContain("s3cr3t-value");
    expect(byId(section, "host.commands").summary).toBe("not on PATH: no-such-program-x");
    expect(byId(section, "host.disk").status).toBe("pass");
  });
});
