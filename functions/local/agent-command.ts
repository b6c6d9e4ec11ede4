import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { WorkloadClient } from '../../shared/agent/apply';
import { ApprovedDigests } from '../../shared/agent/drift';
import type { AgentMode } from '../../shared/agent/planner';
import { jsonLogger } from '../../shared/log';
import { createAgentServer, DEFAULT_WINDOW_SECONDS } from './agent';
import {
  API_TOKEN_ENV,
  clusterName,
  DEFAULT_REPORT_EVERY_SECONDS,
  describeDrift,
  driftSettings,
  reportSeconds,
  startDrift,
} from './agent-drift';
import { manifestWorkloadClient } from './agent-manifests';
import { AgentMetrics, METRICS_TOKEN_ENV } from './metrics-agent';

export const DEFAULT_SECRET_ENV = 'TAGWARDEN_AGENT_SECRET';
/** When set, the agent's `GET /metrics` needs it as a Bearer token. */
export { METRICS_TOKEN_ENV };

/** Shorter secrets are refused: an HMAC key someone could guess protects nothing. */
const MIN_SECRET_LENGTH = 16;

export interface AgentCommandOptions {
  port: number;
  host: string;
  secretEnv: string;
  namespaces?: string[];
  dryRun?: boolean;
  mode: AgentMode;
  kubeconfig?: string;
  manifests?: string[];
  window: number;
  reportUrl?: string;
  clusterName?: string;
  reportEvery: number;
  fix?: 'drift';
  tagwardenApi?: string;
}

/** Registers `tagwarden agent` on the CLI program. */
export function registerAgentCommand(program: Command): void {
  const command = program
    .command('agent')
    .description(
      'run in a cluster: receive signed digest bumps and pin Deployments, StatefulSets, DaemonSets and CronJobs that follow the tag',
    )
    .option('--port <port>', 'port to listen on', portNumber, 8080)
    .option('--host <host>', 'address to bind (0.0.0.0 in a pod)', '127.0.0.1')
    .option(
      '--secret-env <name>',
      'environment variable holding the HMAC secret (the secret itself is never an argument)',
      DEFAULT_SECRET_ENV,
    )
    .option(
      '--namespaces <list>',
      'comma-separated namespaces the agent may patch (default: all)',
      namespaceList,
    )
    .option('--dry-run', 'plan and report, patch nothing')
    .addOption(
      new Option('--mode <mode>', 'patch: rewrite images; annotate: only record the pin (GitOps clusters)')
        .choices(['patch', 'annotate'])
        .default('patch'),
    )
    .option('--kubeconfig <file>', 'kubeconfig to use outside a pod (in a pod: the service account)')
    .option(
      '--manifests <paths...>',
      'with --dry-run: read the workloads from these YAML/JSON files or directories instead of an API server',
    )
    .option(
      '--window <seconds>',
      'accepted clock difference of a bump, either way',
      seconds,
      DEFAULT_WINDOW_SECONDS,
    );
  withDriftOptions(command).action(runAgent);
}

/** The drift flags (issue 15): what the pods run, reported to Tagwarden and, when asked, fixed. */
function withDriftOptions(command: Command): Command {
  return command
    .option(
      '--report-url <url>',
      'send signed drift reports (what the pods run) to Tagwarden: its base URL or the full /webhooks/agent URL',
    )
    .option(
      '--cluster-name <name>',
      "this cluster's name in Tagwarden's clusters[] (with --report-url)",
      clusterName,
    )
    .option(
      '--report-every <seconds>',
      'resend an unchanged drift report this often (a changed one goes at once)',
      reportSeconds,
      DEFAULT_REPORT_EVERY_SECONDS,
    )
    .option(
      '--tagwarden-api <url>',
      `drift: ask Tagwarden's read API what a tag serves when no bump said it (token from ${API_TOKEN_ENV})`,
    )
    .addOption(
      new Option(
        '--fix <what>',
        'drift: pin split or stale workloads to the digest of the last bump (off by default)',
      ).choices(['drift']),
    );
}

async function runAgent(options: AgentCommandOptions): Promise<void> {
  const secret = process.env[options.secretEnv];
  if (!secret)
    throw new Error(
      `environment variable ${options.secretEnv} is not set; it must hold the secret Tagwarden signs bumps with`,
    );
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`the secret in ${options.secretEnv} is shorter than ${MIN_SECRET_LENGTH} characters`);
  const drift = driftSettings(options);
  const source = await workloadSource(options);
  const log = jsonLogger();
  const namespaces = options.namespaces ?? null;
  const dryRun = options.dryRun === true;
  const approved = drift ? new ApprovedDigests() : null;
  const metrics = new AgentMetrics(process.env[METRICS_TOKEN_ENV] || undefined);
  const server = createAgentServer({
    ...(approved ? { approved } : {}),
    secret,
    client: source.client,
    log,
    mode: options.mode,
    namespaces,
    dryRun,
    windowSeconds: options.window,
    metrics,
  });
  await listen(server, options);
  const stopDrift =
    drift && approved
      ? startDrift(drift, {
          client: source.client,
          secret,
          log,
          mode: options.mode,
          namespaces,
          dryRun,
          approved,
          metrics,
        })
      : null;
  const { port } = server.address() as AddressInfo;
  process.stdout.write(
    `Tagwarden agent listening on http://${options.host}:${port} (${source.describe}, mode ${options.mode}, namespaces ${namespaces?.join(',') ?? 'all'}${options.dryRun ? ', dry run' : ''}${describeDrift(drift)})\n`,
  );
  const shutdown = () => {
    stopDrift?.();
    server.close(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function listen(server: Server, options: AgentCommandOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${options.port} on ${options.host} is already in use; pick another with --port`
            : error.message,
        ),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
}

/** Where the workloads come from: manifest files (a dry run only) or the Kubernetes API. */
async function workloadSource(
  options: AgentCommandOptions,
): Promise<{ client: WorkloadClient; describe: string }> {
  if (options.manifests) {
    if (!options.dryRun) throw new Error('--manifests needs --dry-run: files are read, never patched');
    if (options.kubeconfig)
      throw new Error('--manifests and --kubeconfig exclude each other: pick one source');
    const client = manifestWorkloadClient(options.manifests);
    // Read once now, so a missing file or bad YAML stops the start with its name and line.
    const count = (await client.list(null)).length;
    return { client, describe: `manifests ${options.manifests.join(', ')}: ${count} workload(s)` };
  }
  // External to the CLI bundle (scripts/build.mjs): bundled, the client adds 15 MB to dist/cli.js that
  // every command would parse (measured: `--version` 0.1 s → 0.2 s). Loaded from node_modules here only.
  const k8s = await import('@kubernetes/client-node');
  const { kubernetesWorkloadClient, loadKubeConfig } = await import('../../shared/agent/kubernetes');
  const config = loadKubeConfig(k8s, { kubeconfig: options.kubeconfig });
  return {
    client: kubernetesWorkloadClient(k8s, config),
    describe: `cluster ${config.getCurrentCluster()?.server}`,
  };
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3600)
    throw new InvalidArgumentError('expected whole seconds from 1 to 3600');
  return n;
}

function namespaceList(value: string): string[] {
  const names = value.split(',').map((name) => name.trim());
  for (const name of names)
    if (!/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
      throw new InvalidArgumentError(`"${name}" is not a namespace name (a DNS label)`);
  return names;
}
