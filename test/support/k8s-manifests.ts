import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse, parseAllDocuments } from 'yaml';
import { buildProgram } from '../../functions/local/cli';

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML
export type Manifest = Record<string, any>;
export const K8S_DIR = join(__dirname, '..', '..', 'infra', 'k8s');
export const KUSTOMIZATION = 'kustomization.yaml';

/** Every object of every manifest in infra/k8s (kustomization.yaml aside), with the file it is in. */
export function loadManifests(dir = K8S_DIR): { file: string; object: Manifest }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') && file !== KUSTOMIZATION)
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        return { file, object: doc.toJS() as Manifest };
      }),
    );
}

export function loadKustomization(dir = K8S_DIR): Manifest {
  return parse(readFileSync(join(dir, KUSTOMIZATION), 'utf8')) as Manifest;
}

/**
 * Parses `args` (without the program name) with Tagwarden's real command line, running nothing: every
 * command's action is replaced by one that records the options it was given. Throws commander's error
 * (unknown option, bad value, unknown command) as the CLI would print it.
 */
export async function parseCliArgs(args: string[]): Promise<{ command: string; options: Manifest }> {
  const program = buildProgram();
  let seen: { command: string; options: Manifest } | undefined;
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const sub of command.commands) quiet(sub);
  };
  quiet(program);
  // commander calls an action with (...arguments, options, command).
  for (const command of program.commands)
    command.action((...params: unknown[]) => {
      seen = { command: command.name(), options: params.at(-2) as Manifest };
    });
  await program.parseAsync(args, { from: 'user' });
  if (!seen) throw new Error(`no command ran for: ${args.join(' ')}`);
  return seen;
}
