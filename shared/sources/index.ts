import { acrParser } from './acr';
import { acrEventgridParser } from './acr-eventgrid';
import { artifactoryParser } from './artifactory';
import { distributionParser } from './distribution';
import { dockerhubParser } from './dockerhub';
import { ecrParser } from './ecr';
import { garParser } from './gar';
import { ghcrParser } from './ghcr';
import { harborParser } from './harbor';
import { quayParser } from './quay';
import type { SourceParser } from './types';

export { perDelivery } from './common';
export * from './delivery';
export * from './id-namespace';
export * from './json-body';
export * from './registry-hosts';
export * from './types';

/** One parser per wire format; `POST /webhooks/<name>` and `normalize --source <name>` look here. */
export const SOURCE_PARSERS: ReadonlyMap<string, SourceParser> = new Map(
  [
    distributionParser,
    ecrParser,
    acrParser,
    acrEventgridParser,
    harborParser,
    dockerhubParser,
    ghcrParser,
    quayParser,
    artifactoryParser,
    garParser,
  ].map((parser) => [parser.name, parser]),
);

export function parserFor(source: string): SourceParser | undefined {
  return SOURCE_PARSERS.get(source);
}
export * from './normalized';
