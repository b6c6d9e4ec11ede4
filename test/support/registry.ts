// A real CNCF distribution registry (Debian's `docker-registry`) on loopback, one per test file.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the host events name. */
  host: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  notifications?: { url: string; headers?: Record<string, string[]> };
}

const BINARY = 'docker-registry';
const READY_DEADLINE_MS = 10_000;
const POLL_MS = 50;

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  if (spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).error) {
    throw new Error(
      `${BINARY} is not installed: run \`npm test\` (which installs it) or \`apt-get install -y docker-registry\``,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // YAML is a superset of JSON. Config version 0.1 is the one distribution 2.x reads.
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: host, secret: 'tagwarden-test-secret' },
  };
  if (options.notifications) {
    config.notifications = {
      endpoints: [
        {
          name: 'tagwarden',
          url: options.notifications.url,
          headers: options.notifications.headers ?? {},
          timeout: '1s',
          threshold: 3,
          backoff: '200ms',
        },
      ],
    };
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  // REGISTRY_* variables override the config file; keep the caller's environment out of it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
  const child = spawn(BINARY, ['serve', configPath], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });

  const url = `http://${host}`;
  const stop = async () => {
    await kill(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${BINARY} exited (${child.exitCode ?? child.signalCode}) before answering:\n${stderr}`,
      );
    }
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status === 200) return { url, host, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${BINARY} did not answer GET /v2/ with 200 within ${READY_DEADLINE_MS} ms:\n${stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on right now (the OS picks it; we release it for the registry). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
