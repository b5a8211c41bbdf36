import { access, readFile } from "node:fs/promises";
import { arch, cpus, hostname, type as osType, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { execBounded } from "@gpuci/process";
import { glob } from "tinyglobby";
import { hashFiles } from "./hash.js";
import { SECRET_NAME, stripUrlCredentials } from "./redact.js";

/** Git facts; absent outside a repository. */
export interface GitFacts {
  commit: string;
  branch?: string;
  detached: boolean;
  dirty: boolean;
  dirtyFiles: number;
  remoteUrl?: string;
  describe?: string;
  shallow: boolean;
}

async function git(args: string[], cwd: string, timeoutMs: number) {
  const r = await execBounded("git", args, {
    cwd,
    timeoutMs,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
  });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Collect git facts of the repository containing `cwd`; undefined when there is none. */
export async function collectGit(cwd: string, timeoutMs = 10_000): Promise<GitFacts | undefined> {
  const commit = await git(["rev-parse", "--verify", "HEAD"], cwd, timeoutMs);
  if (!commit) return undefined;
  const [branch, status, remote, describe, shallow] = await Promise.all([
    git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd, timeoutMs),
    git(["status", "--porcelain=v1", "--untracked-files=normal"], cwd, timeoutMs),
    git(["remote", "get-url", "origin"], cwd, timeoutMs),
    git(["describe", "--tags", "--always", "--dirty"], cwd, timeoutMs),
    git(["rev-parse", "--is-shallow-repository"], cwd, timeoutMs),
  ]);
  const dirtyFiles = status ? status.split("\n").filter(Boolean).length : 0;
  const facts: GitFacts = {
    commit,
    detached: !branch,
    dirty: dirtyFiles > 0,
    dirtyFiles,
    shallow: shallow === "true",
  };
  if (branch) facts.branch = branch;
  if (remote) facts.remoteUrl = stripUrlCredentials(remote);
  if (describe) facts.describe = describe;
  return facts;
}

/** GitHub Actions context; undefined outside Actions. */
export interface CiFacts {
  provider: "github-actions";
  repository?: string;
  workflowRef?: string;
  workflowPath?: string;
  runId?: string;
  runAttempt?: string;
  event?: string;
  pullRequest?: number;
  runnerName?: string;
  runnerEnvironment?: string;
  selfHosted?: boolean;
  actor?: string;
  serverUrl?: string;
  sha?: string;
  ref?: string;
}

/** Collect the GitHub Actions context from the environment (and the event payload for the PR number). */
export async function collectCi(env: NodeJS.ProcessEnv = process.env): Promise<CiFacts | undefined> {
  if (env.GITHUB_ACTIONS !== "true") return undefined;
  const facts: CiFacts = { provider: "github-actions" };
  const set = <K extends keyof CiFacts>(k: K, v: CiFacts[K] | undefined) => {
    if (v !== undefined && v !== "") facts[k] = v;
  };
  set("repository", env.GITHUB_REPOSITORY);
  set("workflowRef", env.GITHUB_WORKFLOW_REF);
  // GITHUB_WORKFLOW_REF is "owner/repo/.github/workflows/x.yml@refs/heads/main".
  set("workflowPath", env.GITHUB_WORKFLOW_REF?.replace(/^[^/]+\/[^/]+\//, "").replace(/@.*$/, ""));
  set("runId", env.GITHUB_RUN_ID);
  set("runAttempt", env.GITHUB_RUN_ATTEMPT);
  set("event", env.GITHUB_EVENT_NAME);
  set("runnerName", env.RUNNER_NAME);
  set("runnerEnvironment", env.RUNNER_ENVIRONMENT);
  if (env.RUNNER_ENVIRONMENT) facts.selfHosted = env.RUNNER_ENVIRONMENT === "self-hosted";
  set("actor", env.GITHUB_ACTOR);
  set("serverUrl", env.GITHUB_SERVER_URL);
  set("sha", env.GITHUB_SHA);
  set("ref", env.GITHUB_REF);
  if (env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as {
        pull_request?: { number?: number };
      };
      if (typeof event.pull_request?.number === "number") facts.pullRequest = event.pull_request.number;
    } catch {
      // Unreadable payload: no PR number.
    }
  }
  return facts;
}

/** Host facts. */
export interface HostFacts {
  hostname: string;
  os: string;
  platform: string;
  arch: string;
  kernel: string;
  distro?: string;
  cpuModel?: string;
  cpuCount: number;
  memoryGiB: number;
  container: boolean;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Collect host facts, including whether gpuci runs inside a container. */
export async function collectHost(): Promise<HostFacts> {
  const cpu = cpus();
  let distro: string | undefined;
  try {
    distro = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(await readFile("/etc/os-release", "utf8"))?.[1];
  } catch {}
  let container = (await exists("/.dockerenv")) || (await exists("/run/.containerenv"));
  if (!container) {
    try {
      container = /docker|kubepods|containerd|libpod|lxc/.test(await readFile("/proc/1/cgroup", "utf8"));
    } catch {}
  }
  const facts: HostFacts = {
    hostname: hostname(),
    os: osType(),
    platform: platform(),
    arch: arch(),
    kernel: release(),
    cpuCount: cpu.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    container,
  };
  if (distro) facts.distro = distro;
  if (cpu[0]?.model) facts.cpuModel = cpu[0].model.trim();
  return facts;
}

/** Versions of the toolchain; each absent when the program is missing or timed out. */
export interface ToolchainFacts {
  node: string;
  python?: string;
  torch?: string;
  torchCuda?: string | null;
  nvcc?: string;
  gcc?: string;
}

/** Collect toolchain versions concurrently, each bounded by `timeoutMs`. */
export async function collectToolchain(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 10_000,
  python = "python3",
): Promise<ToolchainFacts> {
  const run = (cmd: string, args: string[]) => execBounded(cmd, args, { env, timeoutMs });
  const [py, torch, nvcc, gcc] = await Promise.all([
    run(python, ["--version"]),
    run(python, ["-c", "import json,torch;print(json.dumps([torch.__version__, torch.version.cuda]))"]),
    run("nvcc", ["--version"]),
    run("gcc", ["--version"]),
  ]);
  const facts: ToolchainFacts = { node: process.version };
  const pyVersion = /Python (\S+)/.exec(`${py.stdout}${py.stderr}`)?.[1];
  if (py.exitCode === 0 && pyVersion) facts.python = pyVersion;
  if (torch.exitCode === 0) {
    try {
      const [v, cuda] = JSON.parse(torch.stdout.trim()) as [string, string | null];
      facts.torch = v;
      facts.torchCuda = cuda;
    } catch {}
  }
  const nvccVersion = /release (\d+\.\d+), V(\S+)/.exec(nvcc.stdout);
  if (nvcc.exitCode === 0 && nvccVersion) facts.nvcc = nvccVersion[2];
  const gccVersion = /^gcc.*?(\d+\.\d+\.\d+)/m.exec(gcc.stdout);
  if (gcc.exitCode === 0 && gccVersion) facts.gcc = gccVersion[1];
  return facts;
}

/** Lockfiles gpuci looks for. */
export const LOCKFILE_GLOBS = [
  "package-lock.json",
  "pnpm-lock.yaml",
  "yarn.lock",
  "requirements*.txt",
  "poetry.lock",
  "uv.lock",
  "Pipfile.lock",
  "environment.yml",
];

/** sha256 of each lockfile present in `dir`. */
export async function collectLockfiles(dir: string): Promise<Array<{ name: string; sha256: string }>> {
  const names = (await glob(LOCKFILE_GLOBS, { cwd: dir, onlyFiles: true, deep: 1 })).sort();
  const digests = await hashFiles(names.map((n) => join(dir, n)));
  return digests.flatMap((d, i) => (d.sha256 ? [{ name: names[i]!, sha256: d.sha256 }] : []));
}

/** Environment variables recorded by default (values of secret-looking names never are). */
export const ENV_ALLOWLIST = [
  "CUDA_VISIBLE_DEVICES",
  "NVIDIA_VISIBLE_DEVICES",
  "NVIDIA_DRIVER_CAPABILITIES",
  "CUDA_HOME",
  "CUDA_PATH",
  "CUDA_LAUNCH_BLOCKING",
  "CUBLAS_WORKSPACE_CONFIG",
  "TORCH_CUDA_ARCH_LIST",
  "PYTORCH_CUDA_ALLOC_CONF",
  "NCCL_DEBUG",
  "OMP_NUM_THREADS",
  "MKL_NUM_THREADS",
  "PYTHONHASHSEED",
  "CI",
  "RUNNER_OS",
  "RUNNER_ARCH",
  "ImageOS",
];

/** Allowlisted variables that are set, minus any whose name looks secret. */
export function collectEnv(env: NodeJS.ProcessEnv, extra: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...ENV_ALLOWLIST, ...extra]) {
    if (SECRET_NAME.test(name)) continue;
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
