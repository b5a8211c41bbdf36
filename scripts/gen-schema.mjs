// Writes schema/gpuci.schema.json from the zod schema of gpuci.yml (the built @gpuci/cli).
// With --check, exits 1 when the file on disk is not what the schema generates now.
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";

const { ConfigSchema } = await import("../packages/cli/dist/index.js");
const target = new URL("../schema/gpuci.schema.json", import.meta.url);
const schema = z.toJSONSchema(ConfigSchema, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
schema.$id = "https://github.com/gpuci/gpuci/schema/gpuci.schema.json";
schema.title = "gpuci.yml";
const text = `${JSON.stringify(schema, null, 2)}\n`;

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {}
  if (current !== text) {
    console.error(
      "schema/gpuci.schema.json is out of date. Run `npm run build && npm run schema` and commit it.",
    );
    process.exit(1);
  }
  console.log("schema/gpuci.schema.json is current.");
} else {
  writeFileSync(target, text);
  console.log("wrote schema/gpuci.schema.json");
}
