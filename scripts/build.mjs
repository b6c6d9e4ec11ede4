// Bundles the CLI and the library entry into dist/ with esbuild (fast; tsc only type-checks).

import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'functions/local/cli.ts', index: 'shared/index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['better-sqlite3', 'autocannon'],
  logLevel: 'warning',
});
