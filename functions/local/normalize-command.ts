import type { Command } from 'commander';
import {
  MAX_BODY_BYTES,
  namespacedEvent,
  orderedEvent,
  parseJsonBody,
  parserFor,
  SOURCE_PARSERS,
} from '../../shared/sources';
import { CliError, err, out, readBody } from './cli-io';

export function registerNormalizeCommand(program: Command): void {
  program
    .command('normalize')
    .description(
      'print the normalized events of a registry event body, one JSON object per line (ids as recorded: <source>:<id>)',
    )
    .requiredOption('--source <source>', `wire format: ${[...SOURCE_PARSERS.keys()].join(', ')}`)
    .argument('<file>', 'the body, or - for standard input')
    .action(normalize);
}

async function normalize(file: string, options: { source: string }): Promise<void> {
  const parser = parserFor(options.source);
  if (!parser)
    throw new CliError(
      `unknown source "${options.source}"; known sources: ${[...SOURCE_PARSERS.keys()].join(', ')}`,
    );
  // A webhook body: the same limit as at the HTTP edge.
  const body = await readBody(file, MAX_BODY_BYTES);
  const json = parseJsonBody(body.toString('utf8'));
  if (!json.ok) throw new CliError(json.reason);
  const parsed = parser.parse(json.value);
  if (!parsed.ok) throw new CliError(parsed.reason);
  for (const item of parsed.items) {
    // The id as Tagwarden records it (in its source's namespace), so that `normalize | replay` matches history.
    if (item.kind === 'event') out(JSON.stringify(orderedEvent(namespacedEvent(parser.name, item.event))));
    else err(`${item.kind}: ${item.reason}`);
  }
}
