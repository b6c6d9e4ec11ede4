import { errorMessage } from '../../shared/core';
import { readInput } from './read-input';

/** A failure the user can fix: printed as one `error: …` line, exit 1, no stack trace. */
export class CliError extends Error {}

export const out = (line: string) => process.stdout.write(`${line}\n`);
export const err = (line: string) => process.stderr.write(`${line}\n`);

/** A file's bytes, or standard input for `-`; an unreadable file is a CliError naming it. */
export async function readBody(file: string): Promise<Buffer> {
  try {
    return await readInput(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${errorMessage(error)}`);
  }
}
