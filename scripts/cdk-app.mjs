// cdk.json's app: bundles infra/app.ts with esbuild (there is no ts-node here) and runs it.
// The bundle is written to a temporary file and renamed into place, so two synths at once never
// read a half-written file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}.test-state`;
const outfile = `${outDir}/cdk-app.cjs`;
mkdirSync(outDir, { recursive: true });
const { outputFiles } = await build({
  entryPoints: [`${root}infra/app.ts`],
  outfile,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  // aws-cdk-lib, constructs, cdk-nag, esbuild, yaml, zod: loaded from node_modules as they are.
  packages: 'external',
  logLevel: 'warning',
});
const temporary = `${outfile}.${process.pid}.tmp`;
writeFileSync(temporary, outputFiles[0].contents);
renameSync(temporary, outfile);
process.setSourceMapsEnabled(true);
createRequire(import.meta.url)(outfile);
