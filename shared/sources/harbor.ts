import type { SourceParser } from './types';

export const harborParser: SourceParser = {
  name: 'harbor',
  parse: () => ({ ok: false, reason: 'the harbor format is not implemented yet' }),
};
