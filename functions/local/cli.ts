import { Command } from 'commander';
import { errorMessage, tagRefOf } from '../../shared/core';
import { registerAgentCommand } from './agent-command';
import { registerAzureCommands } from './azure-setup-command';
import { CliError, dropOutputWhenReaderCloses, err } from './cli-io';
import { registerDriftCommand } from './drift-command';
import { registerFailedCommand } from './failed-command';
import { registerHistoryCommand } from './history-command';
import { registerInitCommand } from './init-command';
import { registerNormalizeCommand } from './normalize-command';
import { registerPolicyCommand } from './policy-command';
import { registerReplayCommand } from './replay-command';
import { registerRetryCommand } from './retry-command';
import { registerServeCommand } from './serve-command';
import { registerSweepCommands } from './sweep-command';

/**
 * package.json's version, set by scripts/build.mjs (npm_package_version would name whichever
 * project's npm script runs the command).
 */
declare const TAGWARDEN_VERSION: string | undefined;

/** The `tagwarden` program: one file per command, each built from the local root (composition.ts). */
export function buildProgram(): Command {
  const program = new Command('tagwarden')
    .description(
      'Guards container image tags: detects overwrites from registry events and allows, alerts, locks or reverts by policy.',
    )
    .version(typeof TAGWARDEN_VERSION === 'string' ? TAGWARDEN_VERSION : 'unbuilt')
    .showHelpAfterError('(run with --help for usage)');
  registerServeCommand(program);
  registerInitCommand(program);
  registerNormalizeCommand(program);
  registerPolicyCommand(program);
  registerReplayCommand(program);
  registerHistoryCommand(program);
  registerDriftCommand(program);
  registerSweepCommands(program);
  registerFailedCommand(program);
  registerRetryCommand(program);
  registerAgentCommand(program);
  registerAzureCommands(program);
  return program;
}

/** Entry point for bin/tagwarden.js. */
export async function main(argv: string[]): Promise<void> {
  dropOutputWhenReaderCloses();
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
      process.exit(0);
    if (typeof code === 'string' && code.startsWith('commander.'))
      process.exit((error as { exitCode?: number }).exitCode ?? 1);
    err(`error: ${errorMessage(error).split('\n').join('\nerror: ')}`);
    if (process.env.TAGWARDEN_DEBUG) err(String((error as Error).stack));
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

export { tagRefOf };
