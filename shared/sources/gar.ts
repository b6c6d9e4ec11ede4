import type { SourceParser } from './types';

export const garParser: SourceParser = {
  name: 'gar',
  parse: () => ({ ok: false, reason: 'the gar format is not implemented yet' }),
};
