import type { SourceParser } from './types';

export const ecrParser: SourceParser = { name: 'ecr', parse: () => ({ ok: false, reason: 'not implemented' }) };
