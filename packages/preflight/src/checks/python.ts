import { execBounded } from "@gpuci/process";
import type { Finding } from "@gpuci/report";
import type { PreflightConfig } from "../schema.js";

/** The probe gpuci runs in the configured Python; prints one JSON line. */
export const TORCH_PROBE = `
import json, sys
out = {"python": sys.version.split()[0]}
try:
    import torch
except Exception as e:
    out["error"] = "import torch failed: %s: %s" % (type(e).__name__, e)
    print(json.dumps(out)); sys.exit(0)
out["torch"] = torch.__version__
out["cuda"] = torch.version.cuda
out["available"] = bool(torch.cuda.is_available())
if out["available"]:
    out["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    try:
        x = torch.arange(8, device="cuda", dtype=torch.float32)
        out["op"] = float((x * 2).sum().item())
    except Exception as e:
        out["opError"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
`;

interface ProbeResult {
  python?: string;
  error?: string;
  torch?: string;
  cuda?: string | null;
  available?: boolean;
  devices?: string[];
  op?: number;
  opError?: string;
}

/** `python.torch`: the configured Python imports torch, sees CUDA, and runs one tiny CUDA op. */
export async function checkTorch(config: PreflightConfig, env: NodeJS.ProcessEnv): Promise<Finding> {
  const base = { id: "python.torch", title: "PyTorch with CUDA" };
  const py = config.python.executable;
  const r = await execBounded(py, ["-c", TORCH_PROBE], {
    timeoutMs: config.python.timeoutSeconds * 1000,
    env,
  });
  if (r.error?.code === "ENOENT")
    return {
      ...base,
      status: "fail",
      summary: `${py} is not on PATH`,
      remedy: `Install Python or set preflight.python.executable to its path.`,
    };
  if (r.timedOut)
    return {
      ...base,
      status: "fail",
      summary: `the torch probe did not finish within ${config.python.timeoutSeconds} s`,
      remedy:
        "Importing torch or initialising CUDA hung: check the GPU (gpu.smi) and raise preflight.python.timeoutSeconds if the import is just slow.",
    };
  let probe: ProbeResult;
  try {
    probe = JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as ProbeResult;
  } catch {
    return {
      ...base,
      status: "error",
      summary: `the probe printed no result (exit ${r.exitCode})`,
      remedy: `Run \`${py} -c "import torch"\` by hand and fix what it prints.`,
      details: `${r.stdout}${r.stderr}`.slice(-4000) || undefined,
    };
  }
  if (probe.error)
    return {
      ...base,
      status: "fail",
      summary: `Python ${probe.python}: ${probe.error}`,
      remedy: `Install PyTorch into ${py} (pip install torch, matching the driver's CUDA), or point preflight.python.executable at the environment that has it.`,
      data: probe,
    };
  if (!probe.available || probe.cuda === null)
    return {
      ...base,
      status: "fail",
      summary: `torch ${probe.torch} (CUDA ${probe.cuda ?? "none: a CPU-only build"}) cannot use a GPU`,
      remedy: probe.cuda
        ? "torch was built with CUDA but sees no GPU: check nvidia-smi, CUDA_VISIBLE_DEVICES and that the driver supports this CUDA version."
        : "This is a CPU-only torch build: install a CUDA build (see pytorch.org for the index URL matching your driver).",
      data: probe,
    };
  if (probe.opError || probe.op !== 56)
    return {
      ...base,
      status: "fail",
      summary: `a tiny CUDA op failed: ${probe.opError ?? `sum(2·arange(8)) gave ${probe.op}, expected 56`}`,
      remedy:
        "The GPU answers but does not compute correctly: reset the GPU or reboot, and check dmesg for Xid errors.",
      data: probe,
    };
  return {
    ...base,
    status: "pass",
    summary: `torch ${probe.torch}, CUDA ${probe.cuda}, ${probe.devices?.join(", ")}`,
    data: probe,
  };
}
