// cdk.json's app: bundles infra/app.ts with esbuild (no ts-node here) and runs it.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

mkdirSync('.test-state', { recursive: true });
await build({
  entryPoints: ['infra/app.ts'],
  outfile: '.test-state/cdk-app.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
createRequire(import.meta.url)('../.test-state/cdk-app.cjs');
