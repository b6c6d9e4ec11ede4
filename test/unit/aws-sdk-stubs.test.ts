import { Md5 as SdkMd5, Sha256 as SdkSha256 } from '@smithy/core/checksum';
import { Md5, Sha256 } from '../../functions/aws/sdk-stubs/checksum';
import { EventStreamSerde, eventStreamSerdeProvider } from '../../functions/aws/sdk-stubs/event-streams';
import LRUCache from '../../functions/aws/sdk-stubs/lru-cache';

// The stand-ins the Lambda bundles use for parts of the AWS SDK (infra/lambda-bundling.ts).

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new TextEncoder().encode(text);
const BODY = [bytes('{"Action":"BatchGetImage",'), bytes('"é…"}')];

describe('the checksum stand-in', () => {
  test.each([
    ['SHA-256', () => new Sha256(), () => new SdkSha256()],
    ['HMAC-SHA-256, string key', () => new Sha256('key'), () => new SdkSha256('key')],
    [
      'HMAC-SHA-256, bytes key',
      () => new Sha256(new Uint8Array([1, 2, 3])),
      () => new SdkSha256(new Uint8Array([1, 2, 3])),
    ],
    ['MD5', () => new Md5(), () => new SdkMd5()],
  ])('%s digests as the SDK does', async (_name, ours, sdks) => {
    const [a, b] = [ours(), sdks()];
    for (const part of BODY) {
      a.update(part);
      b.update(part);
    }
    expect(hex(await a.digest())).toBe(hex(await b.digest()));
    expect(a.digestLength).toBe(b.digestLength);
  });

  test('a plain hash may go on after a digest; an HMAC is finished; reset starts over', async () => {
    const hash = new Sha256();
    hash.update(bytes('a'));
    await hash.digest();
    hash.update(bytes('b'));
    const sdk = new SdkSha256();
    sdk.update(bytes('ab'));
    expect(hex(await hash.digest())).toBe(hex(await sdk.digest()));

    const hmac = new Sha256('k');
    hmac.update(bytes('a'));
    await hmac.digest();
    expect(() => hmac.update(bytes('b'))).toThrow('already finished');
    hmac.reset();
    hmac.update(bytes('b'));
    const fresh = new SdkSha256('k');
    fresh.update(bytes('b'));
    expect(hex(await hmac.digest())).toBe(hex(await fresh.digest()));
  });
});

describe('the event-stream stand-in', () => {
  test('says what is missing if an operation ever streams events', () => {
    expect(() => eventStreamSerdeProvider()).toThrow(
      /event streams are not part of the Tagwarden Lambda bundles/,
    );
    expect(() => new EventStreamSerde()).toThrow(/event streams/);
  });
});

describe('the LRU stand-in', () => {
  test('evicts the least recently used entry past its capacity; peek does not refresh', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    expect(cache.peek('b')).toBe(2); // b stays the least recent
    cache.set('c', 3);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    cache.set('a', 4);
    cache.set('d', 5);
    expect([cache.get('a'), cache.has('c'), cache.get('d'), cache.get('z')]).toEqual([
      4,
      false,
      5,
      undefined,
    ]);
    cache.clear();
    expect(cache.has('a')).toBe(false);
  });
});
