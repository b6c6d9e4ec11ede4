import { printable } from './printable';

describe('printable', () => {
  it('turns each run of bidi, C0 and C1 control characters into one space', () => {
    expect(printable('\u202Eevil\u001b[31m*bold*')).toBe('evil [31m*bold*');
    expect(printable('a\u2066\u2069b\r\nc\u009b2Jd\u0085e\u200ff\u2028g\u007fh')).toBe('a b c 2Jd e f g h');
  });

  it('leaves ordinary text, including non-Latin letters and emoji, as it is', () => {
    expect(printable('payments/api:v1 — ünïcödé 日本 🚀')).toBe('payments/api:v1 — ünïcödé 日本 🚀');
  });
});
