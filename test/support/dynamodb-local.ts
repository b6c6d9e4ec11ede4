import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { stopProcess } from './processes';
import { freePort } from './tagwarden';

export interface RunningDynamoDb {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * Real DynamoDB Local (the jar shipped in the npm package amplify-dynamodb-simulator), in memory, on
 * a free port, telemetry off. The jar has no bind-address option; tests reach it on 127.0.0.1.
 */
export async function startDynamoDbLocal({
  readyWithinMs = 55_000,
}: {
  readyWithinMs?: number;
} = {}): Promise<RunningDynamoDb> {
  if (spawnSync('java', ['-version']).error) {
    throw new Error(
      'java is not installed: run `npm test` (its setup installs it) or `apt-get install -y default-jre-headless`',
    );
  }
  const emulator = join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${join(emulator, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(emulator, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // Its own folder: DynamoDB Local writes a metadata file into the working directory.
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: mkdtempSync(join(tmpdir(), 'tagwarden-dynamodb-')) },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // A JVM starting on a loaded 2-core machine can take tens of seconds; callers' hooks allow 60 s.
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}:\n${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer within ${readyWithinMs / 1000} s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    endpoint,
    client,
    stop: () => {
      client.destroy();
      return stopProcess(child);
    },
  };
}
