// Bundles the CLI and the library entry into dist/ with esbuild (fast; tsc only type-checks).
// Each file is written to a temporary name and renamed into place, so a CLI started while another
// build runs (test files build in parallel) never sees a missing or half-written file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const result = await build({
  entryPoints: { cli: 'functions/local/cli.ts', index: 'shared/index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // Loaded from node_modules, not bundled: the Kubernetes client (15 MB, ESM) by `tagwarden agent`
  // alone; the Azure SDKs by the `azure` commands (their ESM builds read import.meta, which a CommonJS
  // bundle does not have). pg-native: pg's optional native binding, required only when asked for; pg
  // itself is bundled.
  external: ['better-sqlite3', 'pg-native', 'autocannon', '@kubernetes/client-node', '@azure/*'],
  // `tagwarden --version` (functions/local/cli.ts).
  define: { TAGWARDEN_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
  write: false,
});
mkdirSync('dist', { recursive: true });
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
}
