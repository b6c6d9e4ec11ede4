import type { SourceParser } from './types';

export const artifactoryParser: SourceParser = {
  name: 'artifactory',
  parse: () => ({ ok: false, reason: 'the artifactory format is not implemented yet' }),
};
