import type { Command } from 'commander';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { hostProblem, repositoryProblem } from '../../shared/core';
import { reconcile } from '../../shared/guard/sweep';
import { CliError, out } from './cli-io';
import { localRoot, openHistory } from './composition';
import { DEFAULT_DB_PATH, noRegistryMessage } from './dependencies';

/** `sweep` and `baseline`: one command each, the same run (baseline only seeds unseen tags). */
export function registerSweepCommands(program: Command): void {
  for (const [name, description] of [
    ['sweep', 'compare every tag the registry serves with history and act on differences events missed'],
    [
      'baseline',
      'seed history with every tag the registry serves now, so the first overwrite after install is detected',
    ],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument(
        '<repositories...>',
        '<registryHost>/<repository>, each a registry configured under registries',
      )
      .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
      .option('--config <file>', 'policy and registries (default: ./tagwarden.yaml)')
      .action((repositories: string[], options: { db: string; config?: string }) =>
        sweep(repositories, options, name === 'baseline'),
      );
  }
}

async function sweep(
  targets: string[],
  options: { db: string; config?: string },
  baseline: boolean,
): Promise<void> {
  // Only the swept registries' settings are read now: a missing Slack URL or source token is no reason to stop.
  const hosts = targets.map((target) => target.slice(0, Math.max(target.indexOf('/'), 0)));
  const root = localRoot(options.config, undefined, {
    sections: ['registries', 'effects'],
    registryHosts: hosts,
  });
  const registries = root.registries;
  const parsed = targets.map((target) => {
    const slash = target.indexOf('/');
    const registryHost = target.slice(0, slash);
    const repository = target.slice(slash + 1);
    const problem =
      slash <= 0
        ? `"${target}" is not <registryHost>/<repository>`
        : (hostProblem(registryHost) ?? repositoryProblem(repository));
    if (problem) throw new CliError(problem);
    const registry = registries(registryHost);
    if (!(registry instanceof OciDistributionRegistry)) {
      throw new CliError(noRegistryMessage(registryHost, root.config));
    }
    return { registryHost, repository, registry };
  });
  const store = openHistory(options.db);
  const runner = root.effectRunner(store);
  try {
    for (const { registryHost, repository, registry } of parsed) {
      const tags = await registry.listTags(repository);
      const progress = progressBar(
        `${baseline ? 'baseline' : 'sweep'} ${registryHost}/${repository}`,
        tags.length,
      );
      const observed = [];
      for (const tag of tags) {
        const digest = await registry.currentDigest(repository, tag);
        if (digest) observed.push({ tag, digest, mediaType: null });
        progress.tick();
      }
      progress.done();
      const report = await reconcile(
        { store, policy: root.config.policy, log: root.log },
        { registryHost, repository },
        observed,
        new Date().toISOString(),
        { baseline },
      );
      const changes = report.recorded
        .map(({ event, result }) => `${event.tag} ${result.transition.kind}`)
        .join(', ');
      out(
        `${registryHost}/${repository}: ${report.checked} tags checked, ${report.recorded.length} recorded${changes ? ` (${changes})` : ''}`,
      );
    }
    await runner.runDue();
  } finally {
    await store.close();
  }
}

/** A progress bar on a terminal (stderr); nothing when output is redirected. */
function progressBar(label: string, total: number) {
  const tty = process.stderr.isTTY === true;
  let done = 0;
  const draw = () => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tags`,
    );
  };
  return {
    tick() {
      done += 1;
      if (tty) draw();
    },
    done() {
      if (tty) {
        draw();
        process.stderr.write('\n');
      }
    },
  };
}
