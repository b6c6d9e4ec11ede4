import type { SourceParser } from './types';

export const quayParser: SourceParser = {
  name: 'quay',
  parse: () => ({ ok: false, reason: 'the quay format is not implemented yet' }),
};
