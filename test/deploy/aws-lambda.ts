/**
 * Runs a function's bundle from `cdk.out` as the Lambda Node.js runtime does: a fresh process (a cold
 * container) whose environment is the function's own plus what Lambda adds (region, the role's
 * credentials, the function's name), the handler `file.export` resolved in the code folder (`.js`,
 * `.mjs`, `.cjs`, the way the runtime looks), imported as a module, called with the event and a
 * context. No AWS credentials or files of this machine reach it; `endpoints` point the SDK's clients
 * at the stand-ins (`AWS_ENDPOINT_URL_<SERVICE>`), the one thing a real Lambda does not have.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DeployedFunction {
  /** The logical id in the template. */
  id: string;
  name: string;
  arn: string;
  /** `Handler`, e.g. `index.handler`. */
  handler: string;
  /** The asset folder CDK staged for the function's code. */
  codeDir: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface LambdaAccount {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `AWS_ENDPOINT_URL_<SERVICE>` → a stand-in's endpoint. */
  endpoints: Record<string, string>;
}

export type Invocation =
  | { ok: true; result: unknown; logs: string }
  | { ok: false; errorType: string; errorMessage: string; logs: string };

// The runtime's part: resolve the handler, import it as a module, call it, write the outcome.
const RUNTIME = `
import { existsSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [dir, handler, eventJson, contextJson, out] = process.argv.slice(1);
const dot = handler.lastIndexOf('.');
const base = dir + '/' + handler.slice(0, dot);
const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
const deadline = Date.now() + JSON.parse(contextJson).timeoutMs;
const context = { ...JSON.parse(contextJson), getRemainingTimeInMillis: () => deadline - Date.now() };
try {
  if (!file) throw Object.assign(new Error('Cannot find module ' + base), { name: 'Runtime.ImportModuleError' });
  const module = await import(pathToFileURL(file).href);
  const result = await module[handler.slice(dot + 1)](JSON.parse(eventJson), context);
  writeFileSync(out, JSON.stringify({ ok: true, result: result ?? null }));
} catch (error) {
  writeFileSync(out, JSON.stringify({ ok: false, errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) }));
}
process.exit(0);
`;

/** The environment Lambda gives the function's process: its variables and the runtime's own. */
function lambdaEnvironment(
  fn: DeployedFunction,
  account: LambdaAccount,
  home: string,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    // No profile, config or credentials file of the machine running the rehearsal.
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: account.region,
    AWS_DEFAULT_REGION: account.region,
    AWS_ACCESS_KEY_ID: account.accessKeyId,
    AWS_SECRET_ACCESS_KEY: account.secretAccessKey,
    AWS_SESSION_TOKEN: 'rehearsal-session',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: fn.codeDir,
    _HANDLER: fn.handler,
    ...account.endpoints,
    ...fn.environment,
  };
}

/** One invocation in a cold container; logs are what the function wrote to stdout and stderr. */
export async function invoke(
  fn: DeployedFunction,
  account: LambdaAccount,
  event: unknown,
): Promise<Invocation> {
  const home = mkdtempSync(join(tmpdir(), 'tagwarden-lambda-'));
  const out = join(home, 'outcome.json');
  const context = {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: 'rehearsal',
    callbackWaitsForEmptyEventLoop: true,
    timeoutMs: fn.timeoutSeconds * 1000,
  };
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      RUNTIME,
      fn.codeDir,
      fn.handler,
      JSON.stringify(event),
      JSON.stringify(context),
      out,
    ],
    { env: lambdaEnvironment(fn, account, home), cwd: fn.codeDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), Math.min(fn.timeoutSeconds, 60) * 1000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  try {
    return { ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<Invocation, 'logs'>), logs } as Invocation;
  } catch {
    return { ok: false, errorType: 'Runtime.ExitError', errorMessage: `exited with ${code}`, logs };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
