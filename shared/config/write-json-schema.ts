// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in strings is the config syntax, not a template slip.
/**
 * Generates schema/tagwarden.schema.json from the zod schema (for editors: completion and checks).
 * Regenerate from the repository root after changing shared/config/schema.ts:
 *
 *   npx esbuild shared/config/write-json-schema.ts --bundle --platform=node --format=cjs --outfile=/tmp/tagwarden-schema.js
 *   node /tmp/tagwarden-schema.js            # writes schema/tagwarden.schema.json
 *
 * shared/config/load.test.ts fails when the checked-in file differs from jsonSchemaText().
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { TagwardenConfigFile } from './schema';

export const JSON_SCHEMA_PATH = 'schema/tagwarden.schema.json';

export function jsonSchemaText(): string {
  // io: 'input' describes what a user writes: fields with defaults are optional.
  const { $schema, ...rest } = z.toJSONSchema(TagwardenConfigFile, {
    io: 'input',
    target: 'draft-2020-12',
    override: allowEnvReferences,
  });
  const schema = {
    $schema,
    $id: 'urn:tagwarden:config',
    title: 'Tagwarden config (tagwarden.yaml)',
    ...rest,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * The file an editor checks still holds `${VAR}` references (expanded only when Tagwarden loads it), so
 * a constrained string value (a URL, a token of at least 16 characters) may also be any string with a
 * `${` in it. Keys are never expanded, so key patterns (propertyNames) stay as they are.
 */
function allowEnvReferences(ctx: { jsonSchema: Record<string, unknown>; path: (string | number)[] }): void {
  const schema = ctx.jsonSchema;
  if (schema.type !== 'string' || ctx.path.includes('propertyNames')) return;
  const constrained =
    schema.pattern !== undefined || schema.format !== undefined || Number(schema.minLength ?? 0) > 1;
  if (!constrained) return;
  const { description, ...value } = schema;
  for (const key of Object.keys(schema)) delete schema[key];
  if (description !== undefined) schema.description = description;
  schema.anyOf = [
    value,
    {
      type: 'string',
      pattern: '\\$\\{',
      description: 'A ${VAR} reference, expanded from the environment on load.',
    },
  ];
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const target = resolve(process.argv[2] ?? JSON_SCHEMA_PATH);
  writeFileSync(target, jsonSchemaText());
  console.log(`wrote ${target}`);
}
