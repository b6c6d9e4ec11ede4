import type { SourceParser } from './types';

export const acrParser: SourceParser = { name: 'acr', parse: () => ({ ok: false, reason: 'not implemented' }) };
