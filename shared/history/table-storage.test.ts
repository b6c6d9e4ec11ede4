import fc from 'fast-check';
import { decodeKeyPart, encodeKeyPart, idPart, splitText, tagPartition } from './table-storage';

/** What Table Storage refuses in a PartitionKey or RowKey. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this test is about
const REJECTED_IN_KEYS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

describe('Table Storage key encoding', () => {
  it('round-trips any string and leaves nothing a key rejects', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (value) => {
        const encoded = encodeKeyPart(value);
        expect(decodeKeyPart(encoded)).toBe(value);
        expect(encoded).not.toMatch(REJECTED_IN_KEYS);
        expect(encoded).not.toMatch(/[|%']/); // our separator, and what Azure and Azurite mishandle in keys
      }),
      { numRuns: 500 },
    );
  });

  it('encodes only the characters that need it, so keys stay readable', () => {
    expect(encodeKeyPart('payments/api')).toBe('payments~2Fapi');
    expect(encodeKeyPart("a#b?c\\d%e|f~g'h\u0000\u009f\u00a0é\u{1F600}")).toBe(
      'a~23b~3Fc~5Cd~25e~7Cf~7Eg~27h~00~9F\u00a0é\u{1F600}',
    );
  });

  it('gives distinct tags distinct partitions, however their names are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '|', '/', '~', '2', 'F', '%'), { maxLength: 6 }),
        fc.nat(6),
        fc.nat(6),
        (chars, cut1, cut2) => {
          const text = chars.join('');
          const [i, j] = [Math.min(cut1, cut2, text.length), Math.min(Math.max(cut1, cut2), text.length)];
          const ref = { registryHost: text.slice(0, i), repository: text.slice(i, j), tag: text.slice(j) };
          const shifted = { registryHost: text.slice(0, j), repository: text.slice(j), tag: '' };
          if (ref.registryHost !== shifted.registryHost)
            expect(tagPartition(ref)).not.toBe(tagPartition(shifted));
        },
      ),
    );
  });

  it('hashes a part too long for a key, and no short part can look like such a hash', () => {
    const long = 'x'.repeat(600);
    expect(idPart(long)).toMatch(/^~~[0-9a-f]{64}$/);
    expect(idPart(long)).not.toBe(idPart(`${long}y`));
    expect(idPart(idPart(long))).not.toBe(idPart(long)); // the literal id "~~<hex>" is encoded, so it differs
    expect(
      tagPartition({ registryHost: 'h', repository: 'r/'.repeat(300), tag: 't' }).length,
    ).toBeLessThanOrEqual(512);
  });
});

describe('splitText', () => {
  it('splits into parts no longer than asked and joins back to the same text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 2, max: 40 }),
        (text, size) => {
          const parts = splitText(text, size);
          expect(parts.join('')).toBe(text);
          for (const part of parts) expect(part.length).toBeLessThanOrEqual(size);
        },
      ),
    );
  });

  it('never cuts a surrogate pair in two', () => {
    const parts = splitText(`ab\u{1F600}cd`, 3);
    expect(parts).toEqual(['ab', '\u{1F600}c', 'd']);
    expect(parts.some((p) => /[\uD800-\uDFFF]/u.test(p))).toBe(false); // no lone surrogate
  });
});
