import type { SourceParser } from './types';

export const acrEventgridParser: SourceParser = {
  name: 'acr-eventgrid',
  parse: () => ({ ok: false, reason: 'the acr-eventgrid format is not implemented yet' }),
};
