import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  collectArtifacts,
  collectGit,
  manifestLine,
  ProvenanceStatementSchema,
  parseManifest,
  recordProvenance,
  redactText,
  verifyProvenance,
} from "./index.js";

const noGpuEnv = { ...process.env, PATH: "/usr/local/bin:/usr/bin:/bin" };

function sh(cwd: string, ...args: string[]) {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@e",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@e",
    },
  }).trim();
}

async function repo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gpuci-prov-"));
  sh(dir, "init", "-q", "-b", "main");
  await writeFile(join(dir, "train.py"), "print('hi')\n");
  sh(dir, "add", ".");
  sh(dir, "commit", "-q", "-m", "first");
  sh(dir, "tag", "v1.0");
  return dir;
}

describe("git facts from real repositories", () => {
  it("clean, dirty, detached, shallow, and no repository", async () => {
    const dir = await repo();
    sh(
      dir,
      "remote",
      "add",
      "origin",
      "https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r.git",
    );
    const clean = await collectGit(dir);
    expect(clean).toMatchObject({
      branch: "main",
      detached: false,
      dirty: false,
      dirtyFiles: 0,
      describe: "v1.0",
      shallow: false,
      remoteUrl: "https://github.com/o/r.git",
    });
    expect(clean?.commit).toMatch(/^[0-9a-f]{40}$/);

    await writeFile(join(dir, "train.py"), "print('changed')\n");
    await writeFile(join(dir, "new.txt"), "x");
    expect(await collectGit(dir)).toMatchObject({ dirty: true, dirtyFiles: 2, describe: "v1.0-dirty" });

    sh(dir, "checkout", "-q", "--", "train.py");
    sh(dir, "checkout", "-q", "--detach", "HEAD");
    expect(await collectGit(dir)).toMatchObject({ detached: true });
    expect((await collectGit(dir))?.branch).toBeUndefined();

    const shallow = await mkdtemp(join(tmpdir(), "gpuci-shallow-"));
    sh(shallow, "clone", "-q", "--depth", "1", `file://${dir}`, "c");
    expect(await collectGit(join(shallow, "c"))).toMatchObject({ shallow: true });

    const none = await mkdtemp(join(tmpdir(), "gpuci-nogit-"));
    expect(await collectGit(none)).toBeUndefined();
  });
});

describe("artifacts and the manifest", () => {
  it("hashes odd names (spaces, newlines, 0 bytes) so that the real sha256sum -c accepts the manifest", async () => {
    const dir = await repo();
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "out/with space.csv"), "a,b\n1,2\n");
    await writeFile(join(dir, "out/new\nline.txt"), "nl");
    await writeFile(join(dir, "out/back\\slash.txt"), "bs");
    await writeFile(join(dir, "out/empty.bin"), "");
    const r = await recordProvenance({
      baseDir: dir,
      outDir: join(dir, ".gpuci"),
      config: { artifacts: ["out/**"] },
      env: noGpuEnv,
    });
    const manifest = await readFile(r.files.manifest, "utf8");
    expect(manifest).toContain(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  out/empty.bin",
    );
    expect(manifest).toContain("\\");
    const check = spawnSync("sha256sum", ["-c", r.files.manifest], { cwd: dir, encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    expect(check.stdout.match(/: OK/g)).toHaveLength(4);
    expect(parseManifest(manifest).map((e) => e.path)).toEqual(
      expect.arrayContaining(["out/new\nline.txt", "out/back\\slash.txt"]),
    );
    expect(manifestLine("ab".repeat(32), "a\nb")).toBe(`\\${"ab".repeat(32)}  a\\nb`);
  });

  it("applies the symlink and special-file policy", async () => {
    const dir = await repo();
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "out/real.txt"), "real");
    await symlink("real.txt", join(dir, "out/link.txt"));
    await symlink("/etc/hostname", join(dir, "out/outside.txt"));
    await symlink("missing.txt", join(dir, "out/broken.txt"));
    execFileSync("mkfifo", [join(dir, "out/pipe")]);
    const a = await collectArtifacts(["out/*"], dir);
    const by = Object.fromEntries(a.map((x) => [x.path, x]));
    expect(by["out/real.txt"]?.sha256).toBeDefined();
    expect(by["out/link.txt"]).toMatchObject({
      sha256: by["out/real.txt"]?.sha256,
      symlinkTo: "out/real.txt",
    });
    expect(by["out/outside.txt"]?.skipped).toMatch(/outside the workspace/);
    expect(by["out/broken.txt"]?.error).toBe("broken symlink");
    expect(by["out/pipe"]?.skipped).toBe("not a regular file (fifo)");
  });

  it("reports an unreadable file clearly and still records the rest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-unreadable-"));
    chmodSync(dir, 0o755);
    await mkdir(join(dir, "out"), { mode: 0o755 });
    await writeFile(join(dir, "out/ok.txt"), "ok", { mode: 0o644 });
    await writeFile(join(dir, "out/secret.txt"), "no", { mode: 0o000 });
    await chmod(join(dir, "out/secret.txt"), 0o000);
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `const m = await import(${JSON.stringify(dist)}); console.log(JSON.stringify(await m.collectArtifacts(["out/*"], ${JSON.stringify(dir)})));`;
    // Root reads any file: run the collector as an unprivileged user when the tests run as root.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      ...asUser,
    });
    const a = JSON.parse(out) as Array<{ path: string; sha256?: string; error?: string }>;
    expect(a.find((x) => x.path === "out/ok.txt")?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.find((x) => x.path === "out/secret.txt")?.error).toMatch(/^EACCES/);
  });
});

describe("the record", () => {
  it("writes a schema-valid in-toto statement, env.json and a re-runnable commands.txt", async () => {
    const dir = await repo();
    await writeFile(join(dir, "package-lock.json"), "{}");
    await writeFile(join(dir, "requirements-dev.txt"), "torch\n");
    await mkdir(join(dir, "bench"));
    await writeFile(join(dir, "bench/results.csv"), "latency_us\n38\n");
    const eventPath = join(dir, "event.json");
    await writeFile(eventPath, JSON.stringify({ pull_request: { number: 42 } }));
    const r = await recordProvenance({
      baseDir: dir,
      outDir: join(dir, ".gpuci"),
      config: { artifacts: ["bench/*.csv"] },
      env: {
        ...noGpuEnv,
        GITHUB_ACTIONS: "true",
        GITHUB_REPOSITORY: "o/r",
        GITHUB_WORKFLOW_REF: "o/r/.github/workflows/gpu.yml@refs/pull/42/merge",
        GITHUB_RUN_ID: "123",
        GITHUB_RUN_ATTEMPT: "2",
        GITHUB_EVENT_NAME: "pull_request",
        GITHUB_EVENT_PATH: eventPath,
        RUNNER_NAME: "gpu-runner-7",
        RUNNER_ENVIRONMENT: "self-hosted",
        CUDA_VISIBLE_DEVICES: "0,1",
      },
      commands: [
        {
          name: "bench",
          argv: ["/bin/sh", "-c", "python bench.py --repeats 50"],
          cwd: dir,
          exitCode: 0,
          startedAt: "2026-11-23T10:00:00.000Z",
          finishedAt: "2026-11-23T10:01:00.000Z",
        },
      ],
    });
    const st = JSON.parse(await readFile(r.files.statement, "utf8"));
    expect(ProvenanceStatementSchema.safeParse(st).success).toBe(true);
    expect(st._type).toBe("https://in-toto.io/Statement/v1");
    expect(st.predicateType).toBe("https://slsa.dev/provenance/v1");
    expect(st.subject).toEqual([
      { name: "bench/results.csv", digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    ]);
    const bd = st.predicate.buildDefinition;
    expect(bd.externalParameters.workflow).toMatchObject({
      path: ".github/workflows/gpu.yml",
      repository: "o/r",
    });
    expect(bd.internalParameters.github).toMatchObject({
      runId: "123",
      runAttempt: "2",
      pullRequest: 42,
      selfHosted: true,
      runnerName: "gpu-runner-7",
    });
    expect(bd.internalParameters["dev.gpuci"].env).toMatchObject({ CUDA_VISIBLE_DEVICES: "0,1" });
    expect(bd.resolvedDependencies.map((d: { name?: string; uri?: string }) => d.name ?? d.uri)).toEqual(
      expect.arrayContaining([
        "package-lock.json",
        "requirements-dev.txt",
        `git+file://${dir}@refs/heads/main`,
      ]),
    );
    expect(st.predicate.runDetails.builder.id).toBe("https://github.com/gpuci/gpuci/runner/gpu-runner-7");
    expect(st.predicate.runDetails.metadata.invocationId).toBe(
      "https://github.com/o/r/actions/runs/123/attempts/2",
    );
    const envJson = JSON.parse(await readFile(r.files.env, "utf8"));
    expect(envJson["git.branch"]).toBe("main");
    expect(envJson["toolchain.node"]).toBe(process.version);
    expect(envJson["lockfiles.package-lock.json"]).toMatch(/^[0-9a-f]{64}$/);
    const commands = await readFile(r.files.commands, "utf8");
    expect(commands).toContain(`(cd ${dir} && python bench.py --repeats 50)`);
    expect(r.section.findings.find((f) => f.id === "provenance.artifacts")?.summary).toBe(
      "1 file(s), 14 B hashed",
    );
  });

  it("plants fake tokens in the environment and a command line; none reaches any output file", async () => {
    const dir = await repo();
    const tokens = [
      "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
      "AKIAIOSFODNN7EXAMPLE",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ];
    const r = await recordProvenance({
      baseDir: dir,
      outDir: join(dir, ".gpuci"),
      config: { env: ["MY_API_TOKEN", "HF_HOME", "GH_PAT_CONFIG"] },
      env: {
        ...noGpuEnv,
        MY_API_TOKEN: tokens[0],
        HF_HOME: `/cache/${tokens[2]}`,
        GH_PAT_CONFIG: tokens[1],
        CUDA_VISIBLE_DEVICES: tokens[3],
      },
      commands: [
        {
          name: "push",
          argv: [
            "/bin/sh",
            "-c",
            `curl -H "Authorization: Bearer ${tokens[3]}" https://u:${tokens[0]}@example.com --token=${tokens[1]} ${tokens[2]}`,
          ],
          cwd: dir,
          exitCode: 0,
          startedAt: "2026-11-23T10:00:00.000Z",
          finishedAt: "2026-11-23T10:00:01.000Z",
        },
      ],
    });
    for (const f of await readdir(join(dir, ".gpuci"))) {
      const text = await readFile(join(dir, ".gpuci", f), "utf8");
      for (const t of tokens) expect(text, `${f} leaks ${t.slice(0, 8)}`).not.toContain(t);
    }
    expect(JSON.stringify(r.section)).not.toContain(tokens[0]);
    expect(redactText(`x ${tokens[0]} y`)).toBe("x [REDACTED:github-token] y");
  });
});

describe("verify", () => {
  it("catches a tampered, a missing and an added file", async () => {
    const dir = await repo();
    await mkdir(join(dir, "out"));
    for (const n of ["a", "b", "c"]) await writeFile(join(dir, `out/${n}.txt`), n);
    const r = await recordProvenance({
      baseDir: dir,
      outDir: join(dir, ".gpuci"),
      config: { artifacts: ["out/*.txt"] },
      env: noGpuEnv,
    });
    expect((await verifyProvenance(r.files.statement, { baseDir: dir })).ok).toBe(true);
    expect((await verifyProvenance(r.files.manifest, { baseDir: dir })).ok).toBe(true);

    await appendFile(join(dir, "out/a.txt"), "tampered");
    execFileSync("rm", [join(dir, "out/b.txt")]);
    await writeFile(join(dir, "out/d.txt"), "added");
    const v = await verifyProvenance(r.files.statement, { baseDir: dir });
    expect(v.ok).toBe(false);
    expect(Object.fromEntries(v.lines.map((l) => [l.path, l.status]))).toEqual({
      "out/a.txt": "FAILED",
      "out/b.txt": "MISSING",
      "out/c.txt": "OK",
      "out/d.txt": "ADDED",
    });
    const m = await verifyProvenance(r.files.manifest, { baseDir: dir, artifacts: ["out/*.txt"] });
    expect(m.lines.map((l) => l.status).sort()).toEqual(["ADDED", "FAILED", "MISSING", "OK"]);
    expect(existsSync(r.files.env)).toBe(true);
  });

  it("an empty manifest or statement is never 'all 0 files verified'", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-empty-verify-"));
    await writeFile(join(dir, "manifest.sha256"), "");
    await expect(verifyProvenance(join(dir, "manifest.sha256"), { baseDir: dir })).rejects.toThrow(
      /lists no files, so there is nothing to verify/,
    );
    await writeFile(
      join(dir, "s.json"),
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: {},
      }),
    );
    await expect(verifyProvenance(join(dir, "s.json"), { baseDir: dir })).rejects.toThrow(
      /nothing to verify|subject/,
    );
  });
});
