// Untrusted text stays text: what a pull request can write (titles, units, summaries, remedies,
// runner names, command output) is rendered by the real parsers GitHub uses — cmark-gfm for the
// comment's markdown (GitHub's own fork of cmark, with its GFM extensions) and Mermaid's own
// parser for the charts — and checked for anything live: links, mentions, references, emoji,
// HTML, math, Mermaid directives.
import { spawnSync } from "node:child_process";
import { Window } from "happy-dom";
import { afterAll, describe, expect, it } from "vitest";
import {
  createReport,
  createSection,
  escapeMermaid,
  type Finding,
  mermaidTrend,
  renderComment,
  renderSummary,
} from "./index.js";

// Mermaid's parser needs a DOM for DOMPurify, and the rendered HTML is walked with one too.
const dom = new Window();
Object.assign(globalThis, { window: dom, document: dom.document });
afterAll(() => dom.happyDOM.close());

/** GitHub-flavoured markdown to HTML, as GitHub renders comments (raw HTML passed to its sanitizer). */
function gfm(markdown: string): string {
  const r = spawnSync(
    "cmark-gfm",
    ["--unsafe", "-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter", "-e", "tasklist"],
    { input: markdown, encoding: "utf8" },
  );
  if (r.error || r.status !== 0)
    throw new Error(`cmark-gfm is needed (apt-get install cmark-gfm): ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

const HOSTILE = [
  "Fix: see https://evil.example/steal and www.evil.example or mailto:x@evil.example",
  "ping @admin and @octo-org/security, closes #123, fixes owner/repo#7 and GH-45 :rocket: :100:",
  "<img src=x onerror=alert(1)> <script>alert(1)</script> <a href='https://evil.example'>x</a>",
  "[click](https://evil.example) ![x](https://evil.example/x.png) <https://auto.example> user@example.com",
  "$\\color{red}{\\text{approved}}$ **bold** _em_ ~~gone~~ `code` | pipe | &amp; &#35;42 [^1] - [x] task",
].join(" ");

/** What GitHub makes live after rendering, in the text a reader sees. */
const LIVE: Array<[string, RegExp]> = [
  ["a mention", /(^|[^\w\u200b])@[A-Za-z0-9]/],
  ["an issue reference", /#\d/],
  ["a GH- reference", /\bGH-\d/i],
  ["a URL", /\b[a-z][a-z0-9+.-]*:\/\//i],
  ["a www link", /\bwww\./i],
  ["a mailto link", /\bmailto:/i],
  ["an emoji shortcode", /:[a-z0-9_+-]+:/i],
];
const STRUCTURE = new Set([
  "H2",
  "H3",
  "P",
  "STRONG",
  "SUB",
  "BR",
  "UL",
  "LI",
  "TABLE",
  "THEAD",
  "TBODY",
  "TR",
  "TH",
  "TD",
  "DETAILS",
  "SUMMARY",
  "PRE",
  "CODE",
  "A",
]);

function hostileReport(): ReturnType<typeof createReport> {
  const series = Array.from({ length: 6 }, (_, i) => ({ commit: `abc${i}%%{init`, value: 10 + i }));
  const findings: Finding[] = [
    {
      id: "gate.#123-@admin_x",
      title: `%%{init: {'theme':'dark','themeCSS':'.line-plot-0 path{display:none}'}}%% latency ${HOSTILE}`,
      status: "fail",
      summary: HOSTILE,
      remedy: HOSTILE,
      details: `${HOSTILE}\n@admin #99 https://evil.example/out`,
      data: {
        verdict: "regressed",
        ratio: 1.2,
        base: { value: 10 },
        value: 12,
        unit: "ms :rocket: @admin #5",
        series,
      },
    },
    { id: "gate.ok", title: `ok ${HOSTILE}`, status: "pass", summary: HOSTILE },
  ];
  return createReport({
    startedAt: "2026-12-01T10:00:00.000Z",
    finishedAt: "2026-12-01T10:01:00.000Z",
    tool: { name: "gpuci @admin", version: "#1 https://evil.example" },
    runner: { key: `runner ${HOSTILE}` },
    sections: [createSection("gates", `Gates ${HOSTILE}`, findings, 5)],
  });
}

describe("untrusted text stays text", () => {
  it("the comment and the summary, rendered by cmark-gfm: no link, mention, reference, emoji, HTML or math from a pull request", () => {
    const report = hostileReport();
    const url = "https://github.com/o/r/actions/runs/1";
    for (const [name, md] of [
      ["comment", renderComment(report, { charts: "sparkline", fullReportUrl: url })],
      ["summary", renderSummary(report)],
    ] as const) {
      const doc = new dom.DOMParser().parseFromString(`<body>${gfm(md)}</body>`, "text/html");
      const tags = new Set([...doc.body.querySelectorAll("*")].map((e) => e.tagName));
      expect(
        [...tags].filter((t) => !STRUCTURE.has(t)),
        name,
      ).toEqual([]);
      // The one link is gpuci's own (where the full report is), and only in the comment.
      const links = [...doc.body.querySelectorAll("a")].map((a) => a.getAttribute("href"));
      expect(
        links.filter((h) => h !== url),
        name,
      ).toEqual([]);
      const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? "";
        for (const [what, re] of LIVE)
          expect(re.test(text), `${name}: ${what} in "${text.slice(0, 120)}"`).toBe(false);
      }
      // Math: no $…$ pair survives as markdown (GitHub renders math from the markdown source).
      const math = /(^|[^\\&#\d])\$[^$\n]+\$/.exec(md);
      expect(math?.[0], name).toBeUndefined();
    }
  });

  it("Mermaid strings: a %%{init}%% directive in a title, a unit or a commit never reaches Mermaid, whole or cut", async () => {
    const { default: mermaid } = await import("mermaid");
    const own = { themeVariables: { xyChart: { plotColorPalette: "#0969da" } } };
    const directive = "%%{init: {'theme':'dark','themeCSS':'.line-plot-0 path{display:none}'}}%%";
    const titles = [
      directive,
      `${"x".repeat(77)}%%{init: {'theme':'dark'}}%%`, // cut by the 80-character bound
      'ok"}%%\n%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#ffffff00"}}}}%%',
      "<br/><img src=x onerror=alert(1)> #quot; a;b & {c}",
    ];
    for (const title of titles) {
      const chart = mermaidTrend({
        title,
        series: [1, 2, 3],
        labels: [directive, "b", `%%{init${directive}`],
        head: 4,
        unit: directive,
      });
      const body = chart.replace(/^```mermaid\n|```$/g, "");
      const parsed = await mermaid.parse(body);
      expect(parsed, title).toMatchObject({ diagramType: "xychart" });
      // parse's config is Mermaid's detectInit over the whole text: only gpuci's own directive.
      expect(parsed ? parsed.config : undefined, title).toEqual(own);
      // Gpuci's own directive is the first line; every quoted string after it is free of them.
      for (const [, quoted] of body
        .split("\n")
        .slice(1)
        .join("\n")
        .matchAll(/"([^"]*)"/g))
        expect(quoted, title).not.toMatch(/[%{}<>]/);
    }
    expect(escapeMermaid("a%b{c}<d>#e;f&g\nh")).toBe("a％b｛c｝‹d›＃e；f＆g h");
  });

  it("the whole comment: a hostile gate title and unit leave the chart's directive gpuci's own", async () => {
    const { default: mermaid } = await import("mermaid");
    const md = renderComment(hostileReport());
    const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(1);
    const parsed = await mermaid.parse(blocks[0]!);
    expect(parsed ? parsed.config : undefined).toEqual({
      themeVariables: { xyChart: { plotColorPalette: "#0969da" } },
    });
  });
});
