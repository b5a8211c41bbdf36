import { describe, expect, it } from "vitest";
import { addSecret, redactArgv, redactText, secretsOf } from "./index.js";

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
});
