import { join, relative } from "node:path";
import type { GpuInventory } from "@gpuci/preflight";
import {
  createRedactor,
  createSection,
  type Finding,
  makeFolder,
  type Section,
  writeFileAtomic,
} from "@gpuci/report";
import { type Artifact, collectArtifacts, renderManifest } from "./artifacts.js";
import {
  type CiFacts,
  collectCi,
  collectEnv,
  collectGit,
  collectHost,
  collectLockfiles,
  collectToolchain,
  type GitFacts,
  type HostFacts,
  type ToolchainFacts,
} from "./collect.js";
import { sha256Hex } from "./hash.js";
import { type ProvenanceConfig, ProvenanceConfigSchema } from "./schema.js";
import {
  GPUCI_BUILD_TYPE,
  type ProvenanceStatement,
  ProvenanceStatementSchema,
  validateSubjects,
} from "./statement.js";

/** A command gpuci ran, for the record. */
export interface RecordedCommand {
  name?: string;
  argv: string[];
  cwd: string;
  exitCode: number | null;
  startedAt: string;
  finishedAt: string;
}

/** Input for {@link recordProvenance}. */
export interface ProvenanceInput {
  config?: Partial<ProvenanceConfig>;
  /** Where artifact globs and lockfiles are resolved (the folder of gpuci.yml). */
  baseDir: string;
  /** Where the files are written. */
  outDir: string;
  /** Preflight's inventory: reused so nvidia-smi is not asked twice. */
  inventory?: GpuInventory;
  commands?: RecordedCommand[];
  config_file?: { path: string; sha256: string };
  /** Extra artifact globs (CLI --artifacts). */
  artifacts?: string[];
  startedAt?: Date;
  invocationId?: string;
  /** The gpuci command line, e.g. ["gpuci", "run", "-c", "gpuci.yml"]. */
  argv?: string[];
  toolVersion?: string;
  env?: NodeJS.ProcessEnv;
}

/** Everything gpuci recorded. */
export interface ProvenanceRecord {
  git?: GitFacts;
  ci?: CiFacts;
  host: HostFacts;
  gpu?: { driverVersion?: string; cudaVersion?: string; gpus: Array<Record<string, unknown>> };
  toolchain: ToolchainFacts;
  lockfiles: Array<{ name: string; sha256: string }>;
  env: Record<string, string>;
  artifacts: Artifact[];
  commands: RecordedCommand[];
}

/** What {@link recordProvenance} wrote and found. */
export interface ProvenanceResult {
  section: Section;
  record: ProvenanceRecord;
  statement: ProvenanceStatement;
  files: { statement: string; manifest: string; env: string; commands: string };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Flatten nested facts into `a.b.c: value` pairs for env.json. */
function flatten(value: unknown, prefix = "", out: Record<string, string | number | boolean | null> = {}) {
  if (value === null || typeof value !== "object") {
    if (prefix) out[prefix] = value as string | number | boolean | null;
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/**
 * Collect the facts of this run, hash its artifacts, and write `provenance.intoto.json`
 * (validated before it is written), `manifest.sha256`, `env.json` and `commands.txt` to
 * `outDir`. Every string is scrubbed of credentials before anything is written.
 */
export async function recordProvenance(input: ProvenanceInput): Promise<ProvenanceResult> {
  const t0 = performance.now();
  const config = ProvenanceConfigSchema.parse(input.config ?? {});
  const env = input.env ?? process.env;
  const timeoutMs = config.timeoutSeconds * 1000;
  const patterns = [...config.artifacts, ...(input.artifacts ?? [])];

  const inventoryPromise: Promise<GpuInventory | undefined> = input.inventory
    ? Promise.resolve(input.inventory)
    : import("@gpuci/preflight").then((m) => m.queryNvidiaSmi(env, timeoutMs).then((q) => q.inventory));
  const [git, ci, host, toolchain, lockfiles, artifacts, inventory] = await Promise.all([
    collectGit(input.baseDir, timeoutMs),
    collectCi(env),
    collectHost(),
    collectToolchain(env, timeoutMs, config.python),
    collectLockfiles(input.baseDir),
    collectArtifacts(patterns, input.baseDir),
    inventoryPromise,
  ]);
  // One redaction for the run's record: precomputed once, applied to every string written.
  const redactor = createRedactor(env);
  // Digests and sizes are gpuci's own; names and messages came from the disk: redacted in place.
  for (const a of artifacts) {
    a.path = redactor.text(a.path);
    if (a.symlinkTo !== undefined) a.symlinkTo = redactor.text(a.symlinkTo);
    if (a.skipped !== undefined) a.skipped = redactor.text(a.skipped);
    if (a.error !== undefined) a.error = redactor.text(a.error);
  }
  const record: ProvenanceRecord = redactor.deep({
    ...(git ? { git } : {}),
    ...(ci ? { ci } : {}),
    host,
    ...(inventory
      ? {
          gpu: {
            ...(inventory.driverVersion ? { driverVersion: inventory.driverVersion } : {}),
            ...(inventory.cudaVersion ? { cudaVersion: inventory.cudaVersion } : {}),
            gpus: inventory.gpus.map((g) => ({
              index: g.index,
              name: g.name,
              uuid: g.uuid,
              memoryTotalMiB: g.memoryTotalMiB,
              pciBusId: g.pciBusId,
            })),
          },
        }
      : {}),
    toolchain,
    lockfiles,
    env: collectEnv(env, config.env),
    artifacts: [] as Artifact[],
    commands: input.commands ?? [],
  });
  record.artifacts = artifacts;

  await makeFolder(input.outDir);
  const files = {
    statement: join(input.outDir, "provenance.intoto.json"),
    manifest: join(input.outDir, "manifest.sha256"),
    env: join(input.outDir, "env.json"),
    commands: join(input.outDir, "commands.txt"),
  };
  const envJson = `${JSON.stringify(flatten({ ...record, artifacts: undefined, commands: undefined, lockfiles: Object.fromEntries(record.lockfiles.map((l) => [l.name, l.sha256])) }), null, 2)}\n`;
  const commandsTxt = [
    `# Commands gpuci ran${record.git ? ` at ${record.git.commit}` : ""}; re-run them from a shell in the same order.`,
    ...record.commands.map(
      (c) =>
        `# ${c.name ?? "command"}: exit ${c.exitCode ?? "none"}, ${c.startedAt} → ${c.finishedAt}\n(cd ${shellQuote(c.cwd)} && ${c.argv[0] === "/bin/sh" && c.argv[1] === "-c" ? c.argv[2] : c.argv.map(shellQuote).join(" ")})`,
    ),
  ].join("\n");
  const manifest = renderManifest(record.artifacts);
  await writeFileAtomic(files.env, envJson);
  const commandsFile = `${redactor.text(commandsTxt, { asVariable: true })}\n`;
  await writeFileAtomic(files.commands, commandsFile);
  await writeFileAtomic(files.manifest, manifest);

  const hashed = record.artifacts.filter((a) => a.sha256);
  const subjects = hashed.length
    ? hashed.map((a) => ({ name: a.path, digest: { sha256: a.sha256! } }))
    : [
        { name: relative(input.baseDir, files.env) || "env.json", digest: { sha256: sha256Hex(envJson) } },
        {
          name: relative(input.baseDir, files.commands) || "commands.txt",
          digest: { sha256: sha256Hex(commandsFile) },
        },
      ];
  const runnerName = record.ci?.runnerName ?? record.host.hostname;
  // The subjects are the record's artifacts, redacted above; the rest is redacted here.
  const statement: ProvenanceStatement = redactor.deep({
    _type: "https://in-toto.io/Statement/v1" as const,
    subject: [] as ProvenanceStatement["subject"],
    predicateType: "https://slsa.dev/provenance/v1" as const,
    predicate: {
      buildDefinition: {
        buildType: GPUCI_BUILD_TYPE,
        externalParameters: {
          ...(record.ci?.workflowRef
            ? {
                workflow: {
                  ref: record.ci.workflowRef,
                  path: record.ci.workflowPath,
                  repository: record.ci.repository,
                },
              }
            : {}),
          command: input.argv ?? ["gpuci", "provenance"],
          ...(input.config_file
            ? {
                config: {
                  path: relative(input.baseDir, input.config_file.path) || input.config_file.path,
                  sha256: input.config_file.sha256,
                },
              }
            : {}),
          artifacts: patterns,
        },
        internalParameters: {
          ...(record.ci ? { github: record.ci } : {}),
          "dev.gpuci": {
            host: record.host,
            ...(record.gpu ? { gpu: record.gpu } : {}),
            toolchain: record.toolchain,
            env: record.env,
            commands: record.commands,
          },
        },
        resolvedDependencies: [
          ...(record.git
            ? [
                {
                  uri: `git+${record.git.remoteUrl ?? `file://${input.baseDir}`}${record.git.branch ? `@refs/heads/${record.git.branch}` : ""}`,
                  digest: { gitCommit: record.git.commit },
                  annotations: {
                    dirty: record.git.dirty,
                    dirtyFiles: record.git.dirtyFiles,
                    shallow: record.git.shallow,
                    ...(record.git.describe ? { describe: record.git.describe } : {}),
                  },
                },
              ]
            : []),
          ...record.lockfiles.map((l) => ({ name: l.name, digest: { sha256: l.sha256 } })),
        ],
      },
      runDetails: {
        builder: {
          id: `https://github.com/gpuci/gpuci/runner/${encodeURIComponent(runnerName)}`,
          version: { gpuci: input.toolVersion ?? "unknown" },
        },
        metadata: {
          invocationId:
            input.invocationId ??
            (record.ci?.runId
              ? `${record.ci.serverUrl ?? "https://github.com"}/${record.ci.repository}/actions/runs/${record.ci.runId}/attempts/${record.ci.runAttempt ?? "1"}`
              : `local-${Date.now()}`),
          startedOn: (input.startedAt ?? new Date()).toISOString(),
          finishedOn: new Date().toISOString(),
        },
        byproducts: [
          { name: "env.json", digest: { sha256: sha256Hex(envJson) } },
          {
            name: "commands.txt",
            digest: { sha256: sha256Hex(commandsFile) },
          },
          ...(manifest ? [{ name: "manifest.sha256", digest: { sha256: sha256Hex(manifest) } }] : []),
          { name: "report.json", uri: "report.json" },
        ],
      },
    },
  });
  // Validate before writing: a statement that supply-chain tools would reject is never written.
  // The subjects (one per artifact, 100,000 of them at times) are checked in one loop.
  const valid = ProvenanceStatementSchema.parse({ ...statement, subject: subjects.slice(0, 1) });
  valid.subject = validateSubjects(subjects);
  await writeFileAtomic(files.statement, `${JSON.stringify(valid, null, 2)}\n`);

  return {
    section: provenanceSection(record, files, performance.now() - t0),
    record,
    statement: valid,
    files,
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function provenanceSection(record: ProvenanceRecord, files: ProvenanceResult["files"], ms: number): Section {
  const findings: Finding[] = [];
  const g = record.git;
  findings.push(
    !g
      ? {
          id: "provenance.git",
          title: "source",
          status: "warn",
          summary: "not a git repository: results cannot be traced to a commit",
          remedy: "Run gpuci inside the repository checkout (actions/checkout).",
        }
      : g.dirty
        ? {
            id: "provenance.git",
            title: "source",
            status: "warn",
            summary: `${g.commit.slice(0, 12)}${g.branch ? ` on ${g.branch}` : " (detached)"} with ${g.dirtyFiles} uncommitted change(s)`,
            remedy:
              "Commit (or stash) the changes before a run whose numbers must be traceable; the record cannot say what the uncommitted files contained.",
          }
        : {
            id: "provenance.git",
            title: "source",
            status: "pass",
            summary: `${g.commit.slice(0, 12)}${g.branch ? ` on ${g.branch}` : " (detached)"}${g.shallow ? ", shallow clone" : ""}, clean`,
          },
  );
  const gpu = record.gpu;
  findings.push({
    id: "provenance.gpu",
    title: "GPU and driver",
    status: gpu ? "pass" : "skip",
    summary: gpu
      ? `${gpu.gpus.map((x) => x.name).join(", ") || "no GPUs"}; driver ${gpu.driverVersion ?? "?"}, CUDA ${gpu.cudaVersion ?? "?"}`
      : "no NVIDIA GPU here (nvidia-smi did not answer)",
  });
  const hashed = record.artifacts.filter((a) => a.sha256);
  const bad = record.artifacts.filter((a) => a.error);
  const skipped = record.artifacts.filter((a) => a.skipped);
  const total = hashed.reduce((s, a) => s + (a.size ?? 0), 0);
  findings.push({
    id: "provenance.artifacts",
    title: "artifacts",
    status: bad.length ? "warn" : "pass",
    summary: `${hashed.length} file(s), ${formatBytes(total)} hashed${skipped.length ? `; ${skipped.length} skipped (${skipped.map((a) => `${a.path}: ${a.skipped}`).join("; ")})` : ""}${bad.length ? `; ${bad.length} unreadable: ${bad.map((a) => `${a.path} (${a.error})`).join(", ")}` : ""}`,
    ...(bad.length
      ? {
          remedy:
            "Make the files readable by the runner user (or exclude them from provenance.artifacts); the rest were recorded.",
        }
      : {}),
    data: {
      count: hashed.length,
      totalBytes: total,
      unreadable: bad.map((a) => a.path),
      skipped: skipped.map((a) => a.path),
    },
  });
  findings.push({
    id: "provenance.record",
    title: "provenance record",
    status: "pass",
    summary: `${files.statement}, ${files.manifest}, ${files.env}, ${files.commands}`,
    data: files,
  });
  return createSection("provenance", "Provenance", findings, Math.round(ms));
}
