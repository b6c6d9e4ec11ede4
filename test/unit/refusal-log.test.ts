import { unauthorizedLog } from '../../shared/guard/refusal-log';
import type { Logger } from '../../shared/log';

describe('unauthorizedLog', () => {
  it('warns once a minute per source, reason and remote address', () => {
    const warned: unknown[] = [];
    const log: Logger = { info() {}, error() {}, warn: (_message, fields) => void warned.push(fields) };
    let now = 0;
    const refused = unauthorizedLog(log, () => now);
    const a = { source: 'quay', reason: 'unauthorized: invalid credentials', remoteAddress: '10.0.0.1' };
    refused(a);
    refused(a);
    refused({ ...a, remoteAddress: '10.0.0.2' });
    refused({ ...a, reason: 'unauthorized: missing token query parameter' });
    now = 59_999;
    refused(a);
    expect(warned).toHaveLength(3);
    now = 60_000;
    refused(a);
    expect(warned).toHaveLength(4);
    expect(warned[3]).toEqual(a);
  });
});
