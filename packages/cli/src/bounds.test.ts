// Bounds the CLI keeps: a report too deep to render and an output folder that cannot exist are
// exit 2 with the reason, promptly — never a stack trace, never a hang.
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");

/** Run the built CLI; a run still going after 30 s is killed and reported as such. */
function gpuci(args: string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let hung = false;
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
  });
}

describe("bounds of the CLI", () => {
  it("render and aggregate of a report nested 100,000 levels deep: exit 2 with the reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-deep-cli-"));
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    await writeFile(
      join(dir, "report.json"),
      `{"schema":"gpuci.report/v1","status":"pass","startedAt":"a","finishedAt":"b","tool":{"name":"g","version":"0"},"sections":[{"id":"s","title":"S","status":"pass","durationMs":1,"findings":[{"id":"f","title":"F","status":"pass","data":${deep}}]}]}`,
    );
    for (const args of [
      ["render", "report.json", "--format", "comment"],
      ["aggregate", "report.json", "--out", "agg"],
    ]) {
      const r = await gpuci(args, dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/report\.json nests deeper than 64 levels/);
      expect(r.stderr).not.toMatch(/internal error|Maximum call stack|at .*\.js:\d+/);
    }
  });

  it("--out /proc/x is exit 2 at once, for run, ab, provenance and aggregate (Node's recursive mkdir would hang)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-proc-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - { name: a, command: 'true' }\nab:\n  command: 'true'\n  metrics: [{ id: t, file: '{out}/t.json', path: t }]\n",
    );
    await writeFile(
      join(dir, "report.json"),
      JSON.stringify({
        schema: "gpuci.report/v1",
        status: "pass",
        startedAt: "a",
        finishedAt: "b",
        tool: { name: "g", version: "0" },
        sections: [],
      }),
    );
    for (const args of [
      ["run", "--out", "/proc/x/out"],
      ["ab", "--out", "/proc/x/out"],
      ["provenance", "--out", "/proc/x/out"],
      ["aggregate", "report.json", "--out", "/proc/x/out"],
      ["render", "report.json", "--out", "/proc/x/comment.md"],
    ]) {
      const r = await gpuci(args, dir);
      expect(r.hung, args.join(" ")).toBe(false);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--out \/proc\/x\/\S+ cannot be (created|written) \((ENOENT|EACCES|EPERM)\)/);
    }
  }, 120_000);
});
