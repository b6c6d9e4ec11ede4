import type { SourceParser } from './types';

export const dockerhubParser: SourceParser = {
  name: 'dockerhub',
  parse: () => ({ ok: false, reason: 'the dockerhub format is not implemented yet' }),
};
