import type { Command } from 'commander';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { hostProblem, PermanentError, repositoryProblem } from '../../shared/core';
import { type ObservedTag, reconcile, type SweepReport } from '../../shared/guard/sweep';
import { CliError, out } from './cli-io';
import { localRoot, openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';
import { noRegistryMessage } from './dependencies';

/** `sweep` and `baseline`: one command each, the same run (baseline only seeds unseen tags). */
export function registerSweepCommands(program: Command): void {
  for (const [name, description] of [
    ['sweep', 'compare every tag the registry serves with history and act on differences events missed'],
    [
      'baseline',
      'seed history with every tag the registry serves now, so the first overwrite after install is detected',
    ],
  ] as const) {
    withDbOptions(
      program
        .command(name)
        .description(description)
        .argument(
          '<repositories...>',
          '<registryHost>/<repository>, each a registry configured under registries',
        ),
    )
      .option('--config <file>', 'policy and registries (default: ./tagwarden.yaml)')
      .action((repositories: string[], options: DbOptions & { config?: string }) =>
        sweep(repositories, options, name === 'baseline'),
      );
  }
}

async function sweep(
  targets: string[],
  options: DbOptions & { config?: string },
  baseline: boolean,
): Promise<void> {
  const db = historyLocation(options);
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
  const store = await openStore(db);
  const runner = root.effectRunner(store);
  try {
    for (const target of parsed) {
      const { observed, unreadable } = await observe(target, baseline);
      const report = await reconcile(
        { store, policy: root.config.policy, log: root.log },
        target,
        observed,
        new Date().toISOString(),
        { baseline },
      );
      out(summary(`${target.registryHost}/${target.repository}`, report, unreadable, baseline));
    }
    await runner.runDue();
  } finally {
    await store.close();
  }
}

/** Every tag a repository serves now; a repository the registry does not know is exit 2. */
async function observe(
  target: { registryHost: string; repository: string; registry: OciDistributionRegistry },
  baseline: boolean,
): Promise<{ observed: ObservedTag[]; unreadable: number }> {
  const { registryHost, repository, registry } = target;
  const tags = await registry.listTags(repository).catch((error: unknown) => {
    if (error instanceof PermanentError) throw new CliError(error.message, 2);
    throw error;
  });
  const progress = progressBar(
    `${baseline ? 'baseline' : 'sweep'} ${registryHost}/${repository}`,
    tags.length,
  );
  const observed: ObservedTag[] = [];
  for (const tag of tags) {
    const digest = await registry.currentDigest(repository, tag);
    if (digest) observed.push({ tag, digest, mediaType: null });
    progress.tick();
  }
  progress.done();
  // A tag listed but gone by the time its manifest is read (deleted meanwhile) cannot be recorded.
  return { observed, unreadable: tags.length - observed.length };
}

/** One line per repository: a baseline counts what it seeded, a sweep names what it found. */
function summary(name: string, report: SweepReport, unreadable: number, baseline: boolean): string {
  const errors = unreadable > 0 ? `, ${unreadable} could not be read (listed, but no manifest served)` : '';
  if (baseline)
    return `${name}: baseline of ${report.checked + unreadable} tags: ${report.recorded.length} recorded, ${report.unchanged} already in history${errors}`;
  const changes = report.recorded
    .map(({ event, result }) => `${event.tag} ${result.transition.kind}`)
    .join(', ');
  return `${name}: ${report.checked} tags checked, ${report.recorded.length} recorded${changes ? ` (${changes})` : ''}${errors}`;
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
