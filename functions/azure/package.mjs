// Packages the Azure Functions app: functions/azure/index.ts bundled with every dependency into
// dist/azure-functions/ (index.js, host.json, package.json), ready for
// `func azure functionapp publish <app>` from that folder, or zipped for `az functionapp deployment`.
//   node functions/azure/package.mjs
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = process.argv[2] ?? join(root, 'dist', 'azure-functions');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'index.ts')],
  outfile: join(out, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  sourcemap: true,
  // Provided by the Functions worker at run time; never installed.
  external: ['@azure/functions-core'],
  // Some Azure SDK packages ship ESM that reads import.meta.url; give the CommonJS bundle its own.
  define: { 'import.meta.url': '__tagwardenImportMetaUrl' },
  banner: { js: "const __tagwardenImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
copyFileSync(join(here, 'host.json'), join(out, 'host.json'));
// No dependencies to install: everything is in index.js. `main` is how the v4 model finds the app.
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify({ name: 'tagwarden-azure-functions', private: true, main: 'index.js', engines: { node: '>=22' } }, null, 2)}\n`,
);
process.stdout.write(`packaged the Azure Functions app into ${out}\n`);
