// Builds a dashboard from a generated history and saves docs/dashboard.png the way the tests
// see it: the site written by `gpuci dashboard`, opened from disk in headless Chromium (Debian's
// chromium, driven by playwright-core), a run hovered so its commit shows. Needs: npm run build;
// apt-get install chromium (or CHROMIUM=/path/to/chrome).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const { seededRandom } = await import(join(root, "packages/gates/dist/index.js"));
const work = mkdtempSync(join(tmpdir(), "gpuci-dashboard-shot-"));
try {
  const rand = seededRandom(23);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sha = (i) => createHash("sha1").update(`kernels ${i}`).digest("hex");
  const lines = [];
  for (let i = 0; i < 160; i++) {
    const h100 = i % 4 !== 3;
    const hw = h100
      ? { gpu: "NVIDIA H100 80GB HBM3", driver: "550.54.15" }
      : { gpu: "NVIDIA L4", driver: "550.54.15" };
    // attention slowed down 9 % at run 96 (a tiling change) on both GPUs; matmul is flat.
    const slow = i >= 96 ? 1.09 : 1;
    const pr = i % 11 === 5;
    lines.push(
      JSON.stringify({
        v: 1,
        at: new Date(Date.UTC(2026, 9, 1) + i * 4 * 3_600_000).toISOString(),
        commit: sha(i),
        ...(pr ? { branch: "tile-64", pr: 212 } : { branch: "main" }),
        ...hw,
        costUsd: Number(((h100 ? 0.42 : 0.11) * Math.exp(0.04 * gauss())).toFixed(4)),
        results: {
          "attention-fwd": {
            value: (h100 ? 1.84 : 6.3) * (pr ? 0.95 : slow) * Math.exp(0.012 * gauss()),
            unit: "ms",
          },
          "matmul-f16": { value: (h100 ? 612 : 118) * Math.exp(0.008 * gauss()), unit: "TFLOP/s" },
          "softmax-bandwidth": { value: (h100 ? 2.61 : 0.28) * Math.exp(0.01 * gauss()), unit: "TB/s" },
        },
      }),
    );
  }
  mkdirSync(join(work, ".gpuci/history"), { recursive: true });
  writeFileSync(join(work, ".gpuci/history/results.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(join(work, "gpuci.yml"), "history: { baseBranch: main }\n");
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: work });
  execFileSync("git", ["remote", "add", "origin", "https://github.com/acme/kernels.git"], { cwd: work });
  execFileSync(
    process.execPath,
    [join(root, "packages/cli/dist/bin.js"), "dashboard", "--title", "acme/kernels: GPU benchmarks"],
    {
      cwd: work,
      stdio: "inherit",
    },
  );
  const browser = await chromium.launch({
    executablePath:
      process.env.CHROMIUM ??
      ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
        existsSync(p),
      ) ??
      "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 1040 }, deviceScaleFactor: 1 });
  await page.goto(`file://${work}/.gpuci/site/index.html`);
  await page.waitForSelector("#metric-attention-fwd .uplot");
  await page.locator("#metric-attention-fwd").scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator("#metric-attention-fwd .u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.4);
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(root, "docs/dashboard.png") });
  await browser.close();
  console.log("dashboard-screenshot: wrote docs/dashboard.png");
} finally {
  rmSync(work, { recursive: true, force: true });
}
