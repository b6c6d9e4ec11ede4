import { acrParser } from './acr';
import { distributionParser } from './distribution';
import { ecrParser } from './ecr';
import type { SourceParser } from './types';

export * from './json-body';
export * from './types';

/** One parser per wire format; `POST /webhooks/<name>` and `normalize --source <name>` look here. */
export const SOURCE_PARSERS: ReadonlyMap<string, SourceParser> = new Map(
  [distributionParser, ecrParser, acrParser].map((parser) => [parser.name, parser]),
);

export function parserFor(source: string): SourceParser | undefined {
  return SOURCE_PARSERS.get(source);
}
export * from './normalized';
