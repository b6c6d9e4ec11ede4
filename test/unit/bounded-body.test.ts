import { BodyTooLargeError, readBodyPrefix, readBoundedBody } from '../../shared/bounded-body';

/**
 * A stream of `chunks`, counting what it was asked; `endless` repeats the last chunk "forever" (up to
 * 4096 more times, so that a reader that does not stop fails the test instead of hanging it).
 */
function streamOf(chunks: readonly Uint8Array[], endless = false) {
  const seen = { pulls: 0, cancelled: false };
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      seen.pulls += 1;
      if (next < chunks.length) controller.enqueue(chunks[next++]!);
      else if (endless && seen.pulls < 4096) controller.enqueue(chunks[chunks.length - 1]!);
      else controller.close();
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

const bytes = (length: number, fill = 0x61) => new Uint8Array(length).fill(fill);

describe('readBoundedBody', () => {
  it('reads a body of exactly the limit, in order', async () => {
    const { stream } = streamOf([bytes(3, 0x61), bytes(4, 0x62)]);
    const body = await readBoundedBody(stream, 7);
    expect(body.toString('utf8')).toBe('aaabbbb');
  });

  it('refuses a body one byte over the limit, naming the limit', async () => {
    const { stream } = streamOf([bytes(3), bytes(5)]);
    const failure = readBoundedBody(stream, 7);
    await expect(failure).rejects.toBeInstanceOf(BodyTooLargeError);
    await expect(failure).rejects.toThrow('body is larger than the limit of 7 bytes');
    await expect(failure).rejects.toMatchObject({ limit: 7, declared: null });
  });

  it('cuts off a body that never ends soon after the limit', async () => {
    const { stream, seen } = streamOf([bytes(1024)], true);
    await expect(readBoundedBody(stream, 64 * 1024)).rejects.toThrow('limit of 65536 bytes');
    expect(seen.cancelled).toBe(true);
    // 64 chunks fill the limit, the 65th passes it; a stream may be asked a few ahead, no more.
    expect(seen.pulls).toBeLessThan(70);
  });

  it('refuses a declared Content-Length over the limit before reading a byte', async () => {
    const { stream, seen } = streamOf([bytes(1)]);
    const failure = readBoundedBody(stream, 10, { contentLength: '11' });
    await expect(failure).rejects.toThrow('body is 11 bytes; the limit is 10');
    await expect(failure).rejects.toMatchObject({ limit: 10, declared: 11 });
    expect(seen.cancelled).toBe(true);
    expect(seen.pulls).toBeLessThanOrEqual(1);
  });

  it('counts the bytes when the Content-Length lies low or is unreadable', async () => {
    for (const contentLength of ['2', 'many', null]) {
      const { stream } = streamOf([bytes(6), bytes(6)]);
      await expect(readBoundedBody(stream, 10, { contentLength })).rejects.toThrow('limit of 10 bytes');
    }
  });

  it("throws the caller's own error when it gives one", async () => {
    class Refused extends Error {}
    const { stream } = streamOf([bytes(11)]);
    const failure = readBoundedBody(stream, 10, {
      refuse: (tooLarge) => new Refused(`refused past ${tooLarge.limit}`),
    });
    await expect(failure).rejects.toBeInstanceOf(Refused);
    await expect(failure).rejects.toThrow('refused past 10');
  });

  it('reads no body as empty, and any async iterable of bytes', async () => {
    expect(await readBoundedBody(null, 10)).toEqual(Buffer.alloc(0));
    expect(await readBoundedBody(undefined, 0)).toEqual(Buffer.alloc(0));
    async function* parts() {
      yield Buffer.from('ab');
      yield Buffer.from('c');
    }
    expect((await readBoundedBody(parts(), 3)).toString('utf8')).toBe('abc');
    await expect(readBoundedBody(parts(), 2)).rejects.toThrow('limit of 2 bytes');
  });
});

describe('readBodyPrefix', () => {
  it('returns the first bytes up to the limit, cutting the chunk that passes it, and cancels the rest', async () => {
    const { stream, seen } = streamOf([bytes(3, 0x61), bytes(4, 0x62)], true);
    const prefix = await readBodyPrefix(stream, 5);
    expect(prefix.toString('utf8')).toBe('aaabb');
    expect(seen.cancelled).toBe(true);
    expect(seen.pulls).toBeLessThan(4);
  });

  it('returns a shorter body whole, and no body as empty', async () => {
    const { stream } = streamOf([bytes(2, 0x61)]);
    expect((await readBodyPrefix(stream, 5)).toString('utf8')).toBe('aa');
    expect((await readBodyPrefix(null, 5)).length).toBe(0);
  });
});
