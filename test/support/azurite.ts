import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stopProcess } from './processes';
import { freePort } from './tagwarden';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  tableUrl: string;
  queueUrl: string;
  /** A connection string with both endpoints, as a Function App setting would carry it. */
  connectionString: string;
  stop(): Promise<void>;
}

/**
 * Real Azurite (npm `azurite`): the Table and Queue services in memory, each on a free loopback
 * port, telemetry off. The API-version check is skipped because the SDKs may be newer than the
 * emulator; that changes nothing the tests assert.
 */
export async function startAzurite(): Promise<RunningAzurite> {
  const bin = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src');
  const location = mkdtempSync(join(tmpdir(), 'tagwarden-azurite-'));
  const tablePort = await freePort();
  const queuePort = await freePort();
  const common = [
    '--inMemoryPersistence',
    '--silent',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
  ];
  const table = launch(location, join(bin, 'table', 'main.js'), [
    ...common,
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(tablePort),
  ]);
  const queue = launch(location, join(bin, 'queue', 'main.js'), [
    ...common,
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(queuePort),
  ]);
  const children = [table, queue];
  const stop = async () => {
    await Promise.all(children.map(({ child }) => stopProcess(child)));
  };
  try {
    await Promise.all([waitForPort(tablePort, table), waitForPort(queuePort, queue)]);
  } catch (error) {
    await stop();
    throw error;
  }
  const tableUrl = `http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`;
  const queueUrl = `http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT}`;
  return {
    tableUrl,
    queueUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};TableEndpoint=${tableUrl};QueueEndpoint=${queueUrl};`,
    stop,
  };
}

interface Launched {
  child: ChildProcess;
  output: () => string;
}

/** Run in a folder of its own: nothing is persisted in memory mode, but Azurite may still write there. */
function launch(cwd: string, script: string, args: string[]): Launched {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

async function waitForPort(port: number, { child, output }: Launched): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with ${child.exitCode}:\n${output()}`);
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`Azurite did not listen on ${port} within 30 s:\n${output()}`);
    // Polling a port that is not open yet: the next check, not a hope that time fixes anything.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
