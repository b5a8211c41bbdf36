import { describe, expect, it } from "vitest";
import {
  addSecret,
  createRedactor,
  createReport,
  createSection,
  redactArgv,
  redactDeep,
  redactText,
  renderComment,
  renderSummary,
  secretsOf,
} from "./index.js";

describe("one redaction for everything gpuci writes", () => {
  it("removes well-known token shapes", () => {
    const cases: Array<[string, string]> = [
      [`ghp_${"a".repeat(36)}`, "[REDACTED:github-token]"],
      [`github_pat_${"B".repeat(30)}`, "[REDACTED:github-token]"],
      ["AKIAABCDEFGHIJKLMNOP", "[REDACTED:aws-key]"],
      [`hf_${"c".repeat(34)}`, "[REDACTED:hf-token]"],
      [`sk-${"d".repeat(40)}`, "[REDACTED:api-key]"],
      [`xoxb-${"1".repeat(20)}`, "[REDACTED:slack-token]"],
      ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX3g", "[REDACTED:jwt]"],
      [
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "[REDACTED:private-key]",
      ],
    ];
    for (const [secret, marker] of cases) expect(redactText(`x ${secret} y`)).toBe(`x ${marker} y`);
  });

  it("removes credentials by position: URL passwords, Authorization, secret-named flags and assignments", () => {
    expect(redactText("git clone https://bot:pa55word@example.com/r.git")).toBe(
      "git clone https://[REDACTED]@example.com/r.git",
    );
    expect(redactText("curl -H 'Authorization: token abcdef0123456789'")).toBe(
      "curl -H 'Authorization: token [REDACTED]'",
    );
    expect(redactText("run --password=hunter22 --api-key abcdef99 API_TOKEN=zzz999 password: qqq111")).toBe(
      "run --password=[REDACTED] --api-key [REDACTED] API_TOKEN=[REDACTED] password: [REDACTED]",
    );
    expect(redactText("mysql -u root -p s3cr3tpw db")).toBe("mysql -u root -p [REDACTED] db");
    // Not credentials: ordinary -p flags, words that only contain "secret", shell variables.
    expect(redactText("mkdir -p build/out && pytest -p no:cacheprovider")).toBe(
      "mkdir -p build/out && pytest -p no:cacheprovider",
    );
    expect(redactText("cd /tmp/gpuci-secrets-x && echo $GITHUB_TOKEN")).toBe(
      "cd /tmp/gpuci-secrets-x && echo $GITHUB_TOKEN",
    );
    expect(redactText("--token=$GITHUB_TOKEN")).toBe("--token=$GITHUB_TOKEN");
  });

  it("removes the values of secret-named environment variables, or names them for a re-runnable command", () => {
    const env = { HF_TOKEN: "my-hf-value-123", HOME: "/root", SHORT_KEY: "abc" };
    expect(secretsOf(env).map((s) => s.name)).toEqual(["HF_TOKEN"]);
    expect(redactText("using my-hf-value-123 in /root", { env })).toBe("using [REDACTED:HF_TOKEN] in /root");
    expect(redactText("curl -u x:my-hf-value-123", { env, asVariable: true })).toBe("curl -u x:${HF_TOKEN}");
  });

  it("argv lists: the value after a secret flag, and -p for programs whose -p is a password", () => {
    expect(redactArgv(["deploy", "--api-key", "k-123456", "--name", "x"])).toEqual([
      "deploy",
      "--api-key",
      "[REDACTED]",
      "--name",
      "x",
    ]);
    expect(redactArgv(["mysql", "-p", "pw-123456"])).toEqual(["mysql", "-p", "[REDACTED]"]);
    expect(redactArgv(["mkdir", "-p", "build"])).toEqual(["mkdir", "-p", "build"]);
  });

  it("values masked with ::add-mask:: stay masked", () => {
    addSecret("mask-me-please-42");
    expect(redactText("log: mask-me-please-42")).toBe("log: [REDACTED:masked]");
  });

  describe("encoded forms of a secret, as programs print them", () => {
    const value = 'Zq7"p@ss/w:rd=\\é-4242';
    const env = { DEPLOY_TOKEN: value };
    const redact = (text: string) => redactText(text, { env });
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    const b64url = (s: string) => Buffer.from(s, "utf8").toString("base64url");

    it("base64 and base64url, alone and inside a longer encoding (x-access-token:VALUE)", () => {
      for (const encoded of [
        b64(value),
        b64url(value),
        b64(`x-access-token:${value}`),
        b64(`a:${value}`),
        b64(`ab:${value}`),
        b64url(`x-access-token:${value}`),
      ]) {
        const out = redact(`Authorization-ish: ${encoded} end`);
        expect(out, encoded).toContain("[REDACTED:DEPLOY_TOKEN]");
        // What is left decodes to no more than a few bytes of the value.
        const left = out.replace(/\[REDACTED:DEPLOY_TOKEN\]/, "").match(/[A-Za-z0-9+/_-]{8,}/g) ?? [];
        for (const run of left) expect(Buffer.from(run, "base64").toString("latin1")).not.toContain("p@ss");
      }
    });

    it("JSON-escaped, URL-encoded (upper and lower case, + for space) and quoted-printable", () => {
      const json = JSON.stringify({ password: value });
      expect(redact(json)).toBe('{"password":"[REDACTED:DEPLOY_TOKEN]"}');
      expect(redact(`?t=${encodeURIComponent(value)}&x=1`)).toBe("?t=[REDACTED:DEPLOY_TOKEN]&x=1");
      expect(
        redact(`?t=${encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())}&x=1`),
      ).toBe("?t=[REDACTED:DEPLOY_TOKEN]&x=1");
      const qp = 'Zq7"p@ss/w:rd=3D\\=C3=A9-4242';
      expect(redact(`body: ${qp}.`)).toBe("body: [REDACTED:DEPLOY_TOKEN].");
      // A quoted-printable soft line break inside the value.
      expect(redact(`body: Zq7"p@ss/w:r=\r\nd=3D\\=C3=A9-4242.`)).toBe("body: [REDACTED:DEPLOY_TOKEN]\n.");
    });

    it("a value split over two lines, and a value with a colour code inside", () => {
      expect(redact(`pw: Zq7"p@ss/w\n:rd=\\é-4242 ok`)).toBe("pw: [REDACTED:DEPLOY_TOKEN]\n ok");
      expect(redact(`pw: Zq7"p@ss\u001b[31m/w:rd=\\é-4242\u001b[0m ok`)).toBe(
        "pw: [REDACTED:DEPLOY_TOKEN]\u001b[0m ok",
      );
      // Colour codes elsewhere are kept: the live log keeps its colours.
      expect(redact("\u001b[32mok\u001b[0m plain")).toBe("\u001b[32mok\u001b[0m plain");
    });

    it("the comment and the summary never reassemble a secret that had a control sequence inside", () => {
      const report = createReport({
        startedAt: "2026-12-01T00:00:00Z",
        finishedAt: "2026-12-01T00:00:01Z",
        tool: { name: "gpuci", version: "0" },
        sections: [
          createSection(
            "run",
            "Commands",
            [
              {
                id: "run.x",
                title: "x",
                status: "fail",
                summary: `printed Zq7"p@ss\u001b[0m/w:rd=\\é-4242`,
                details: `tail: Zq7"p@ss\u001b[1m/w:rd=\\é-4242\n`,
              },
            ],
            1,
          ),
        ],
      });
      const saved = process.env.DEPLOY_TOKEN;
      process.env.DEPLOY_TOKEN = value;
      try {
        // What a reader sees: entities decoded, zero-width spaces invisible.
        for (const out of [renderComment(report), renderSummary(report), JSON.stringify(redactDeep(report))])
          expect(
            out.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n))).replace(/\u200b/g, ""),
          ).not.toContain("p@ss/w");
      } finally {
        if (saved === undefined) delete process.env.DEPLOY_TOKEN;
        else process.env.DEPLOY_TOKEN = saved;
      }
    });

    it("a Sentry DSN's key, with no variable to say so", () => {
      expect(
        redactText("SENTRY at https://0123456789abcdef0123456789abcdef@o12.ingest.sentry.io/345 up"),
      ).toBe("SENTRY at https://[REDACTED:dsn-key]@o12.ingest.sentry.io/345 up");
      expect(secretsOf({ SENTRY_DSN: "https://abc@o1.ingest.sentry.io/1" }).map((s) => s.name)).toEqual([
        "SENTRY_DSN",
      ]);
    });

    it("one redactor holds its precomputed matcher; a value masked later is still found", () => {
      const r = createRedactor({ X_TOKEN: "first-secret-1234" });
      expect(r.text("a first-secret-1234 b")).toBe("a [REDACTED:X_TOKEN] b");
      addSecret("masked-later-98765");
      expect(r.text("c masked-later-98765 d")).toBe("c [REDACTED:masked] d");
      expect(r.text(Buffer.from("masked-later-98765").toString("base64"))).toBe("[REDACTED:masked]");
    });
  });
});
