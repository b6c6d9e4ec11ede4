import { errorMessage } from '../../shared/core';
import { readInput } from './read-input';

/** A failure the user can fix: printed as one `error: …` line, exit 1 (or `exitCode`), no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const out = (line: string) => process.stdout.write(`${line}\n`);
export const err = (line: string) => process.stderr.write(`${line}\n`);

/**
 * A reader that stops early (`tagwarden history … --json | head`) closes the pipe: the rest of the
 * output is dropped, the command finishes with its own exit code, and no stack trace is printed.
 * Any other failure to write is one `error:` line, exit 1.
 */
export function dropOutputWhenReaderCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return;
    err(`error: cannot write to standard output: ${error.message}`);
    process.exit(1);
  });
}

/**
 * A file's bytes, or standard input for `-`, at most `limit` of them: this is the CLI's edge, where
 * an input's size is enforced. An unreadable or oversized file is a CliError naming it.
 */
export async function readBody(file: string, limit: number): Promise<Buffer> {
  try {
    return await readInput(file, limit);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${errorMessage(error)}`);
  }
}
