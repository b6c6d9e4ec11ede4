import type { SourceParser } from './types';

export const distributionParser: SourceParser = { name: 'distribution', parse: () => ({ ok: false, reason: 'not implemented' }) };
