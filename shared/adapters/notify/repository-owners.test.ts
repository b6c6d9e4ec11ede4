import type { TagRef } from '../../core';
import { cachedRepositoryOwners } from './repository-owners';

const ref = (repository: string): TagRef => ({ registryHost: 'r.example', repository, tag: 'v1' });

describe('cachedRepositoryOwners', () => {
  test('asks once per repository within the time to live, again after it', async () => {
    let clock = 0;
    const asked: string[] = [];
    const owners = cachedRepositoryOwners(
      async (r) => {
        asked.push(r.repository);
        return [`#${r.repository}-${asked.length}`];
      },
      1000,
      () => clock,
    );
    expect(await owners(ref('a'))).toEqual(['#a-1']);
    expect(await owners({ ...ref('a'), tag: 'v2' })).toEqual(['#a-1']);
    expect(await owners(ref('b'))).toEqual(['#b-2']);
    clock = 1000;
    expect(await owners(ref('a'))).toEqual(['#a-3']);
    expect(asked).toEqual(['a', 'b', 'a']);
  });

  test('does not remember a failed lookup', async () => {
    let calls = 0;
    const owners = cachedRepositoryOwners(async () => {
      calls += 1;
      if (calls === 1) throw new Error('throttled');
      return ['#team'];
    });
    await expect(owners(ref('a'))).rejects.toThrow('throttled');
    expect(await owners(ref('a'))).toEqual(['#team']);
  });
});
