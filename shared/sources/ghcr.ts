import type { SourceParser } from './types';

export const ghcrParser: SourceParser = {
  name: 'ghcr',
  parse: () => ({ ok: false, reason: 'the ghcr format is not implemented yet' }),
};
