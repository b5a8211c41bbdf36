import { z } from "zod";

const Digest = z
  .record(z.string(), z.string().regex(/^[0-9a-fA-F]+$/))
  .refine((d) => Object.keys(d).length > 0, "a digest needs at least one algorithm");

/** An in-toto ResourceDescriptor (v1): at least one of uri, digest, content. */
export const ResourceDescriptorSchema = z
  .object({
    name: z.string().optional(),
    uri: z.string().optional(),
    digest: Digest.optional(),
    content: z.string().optional(),
    downloadLocation: z.string().optional(),
    mediaType: z.string().optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .refine(
    (r) => r.uri !== undefined || r.digest !== undefined || r.content !== undefined,
    "a resource needs a uri, digest or content",
  );

/** SLSA Provenance v1 predicate. */
export const SlsaProvenanceSchema = z.object({
  buildDefinition: z.object({
    buildType: z.string().url(),
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(ResourceDescriptorSchema).optional(),
  }),
  runDetails: z.object({
    builder: z.object({
      id: z.string().url(),
      version: z.record(z.string(), z.string()).optional(),
      builderDependencies: z.array(ResourceDescriptorSchema).optional(),
    }),
    metadata: z
      .object({
        invocationId: z.string().optional(),
        startedOn: z.string().datetime().optional(),
        finishedOn: z.string().datetime().optional(),
      })
      .optional(),
    byproducts: z.array(ResourceDescriptorSchema).optional(),
  }),
});

/** in-toto Statement v1 with a SLSA Provenance v1 predicate. */
export const ProvenanceStatementSchema = z.object({
  _type: z.literal("https://in-toto.io/Statement/v1"),
  subject: z
    .array(z.object({ name: z.string(), digest: Digest }))
    .min(1, "an in-toto statement needs at least one subject"),
  predicateType: z.literal("https://slsa.dev/provenance/v1"),
  predicate: SlsaProvenanceSchema,
});
/**
 * The subjects of a statement, checked as the schema would (a name, a non-empty digest of hex
 * values) in one loop: a statement may have 100,000 of them.
 */
export function validateSubjects(
  subjects: ReadonlyArray<{ name: unknown; digest: unknown }>,
): ProvenanceStatement["subject"] {
  if (subjects.length === 0) throw new Error("an in-toto statement needs at least one subject");
  subjects.forEach((s, i) => {
    const d = s.digest as Record<string, unknown> | null;
    const values = d && typeof d === "object" ? Object.values(d) : [];
    if (
      typeof s.name !== "string" ||
      values.length === 0 ||
      !values.every((v) => typeof v === "string" && /^[0-9a-fA-F]+$/.test(v))
    )
      throw new Error(`subject ${i} (${JSON.stringify(s.name)}) is not a name with a hex digest`);
  });
  return subjects as ProvenanceStatement["subject"];
}

/** in-toto Statement v1 with a SLSA Provenance v1 predicate. */
export type ProvenanceStatement = z.infer<typeof ProvenanceStatementSchema>;

/** The buildType URI of statements gpuci writes. */
export const GPUCI_BUILD_TYPE = "https://github.com/gpuci/gpuci/provenance/run/v1";
