// `npm run bench -- lambda`: the size and load time of exactly what `cdk deploy` ships.
//
// The stack is synthesized the way `cdk synth` does it (cdk.json's app, with CDK_OUTDIR), so each
// bundle is the one CDK's NodejsFunction built with infra/lambda-bundling.ts, and each function's
// NODE_OPTIONS is read from the template it is deployed with.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_SIZE_TARGET_KB } from '../../infra/lambda-bundling';

const LOAD_TARGET = 1.6;
const RUNS = 5;

interface DeployedFunction {
  id: string;
  bundle: string;
  nodeOptions: string | undefined;
}

type TemplateResource = {
  Type: string;
  Properties: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, unknown> } };
};

/** `cdk synth` into a temporary directory: the app command of cdk.json, as the CLI runs it. */
function synthesize(outdir: string): DeployedFunction[] {
  const app = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { app: string }).app.split(' ');
  execFileSync(app[0] === 'node' ? process.execPath : app[0]!, app.slice(1), {
    env: { ...process.env, CDK_OUTDIR: outdir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const template = JSON.parse(readFileSync(join(outdir, 'Tagwarden.template.json'), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && typeof r.Properties.Code?.S3Key === 'string')
    .map(([id, r]) => ({
      id: id.replace(/[0-9A-F]{8}$/, ''),
      // The asset CDK staged for the function: asset.<hash>, the hash its S3 key names.
      bundle: join(outdir, `asset.${r.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`, 'index.mjs'),
      nodeOptions: r.Properties.Environment?.Variables?.NODE_OPTIONS as string | undefined,
    }))
    .filter((fn) => existsSync(fn.bundle));
}

const median = (runs: number[]) => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;

function timed(args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  execFileSync(process.execPath, args, { stdio: 'ignore', env });
  return performance.now() - start;
}

/**
 * Load time of one bundle as Lambda starts it (`import()` of the ES module, with the function's
 * NODE_OPTIONS), five times, each right after a bare `node` start in the same run.
 */
function loadRatio(fn: DeployedFunction): { load: number; bare: number } {
  const bare: number[] = [];
  const load: number[] = [];
  const { NODE_OPTIONS: _ours, ...env } = process.env;
  const deployed = { ...env, ...(fn.nodeOptions ? { NODE_OPTIONS: fn.nodeOptions } : {}) };
  const script = `await import(${JSON.stringify(pathToFileURL(fn.bundle).href)})`;
  for (let i = 0; i < RUNS; i++) {
    bare.push(timed(['-e', ''], env));
    load.push(timed(['--input-type=module', '-e', script], deployed));
  }
  return { load: median(load), bare: median(bare) };
}

export function benchLambdaBundles(report: (name: string, value: string) => void): void {
  const outdir = mkdtempSync(join(tmpdir(), 'tagwarden-cdk-out-'));
  try {
    for (const fn of synthesize(outdir)) {
      const kb = statSync(fn.bundle).size / 1024;
      const map = existsSync(`${fn.bundle}.map`) ? statSync(`${fn.bundle}.map`).size / 1024 : 0;
      const { load, bare } = loadRatio(fn);
      const target = BUNDLE_SIZE_TARGET_KB[fn.id];
      report(
        `lambda: ${fn.id} as deployed`,
        `${kb.toFixed(0)} KB${target ? ` (target <= ${target} KB)` : ''}${map ? ` + ${map.toFixed(0)} KB source map` : ''}; NODE_OPTIONS ${fn.nodeOptions ?? 'unset'}; load ${load.toFixed(0)} ms vs bare node ${bare.toFixed(0)} ms = ${(load / bare).toFixed(2)} x (median of ${RUNS}; target <= ${LOAD_TARGET} x)`,
      );
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
