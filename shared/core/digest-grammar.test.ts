import { digestProblem } from './grammar';

// The digest grammar is exact in length: one hex character short or long is not a digest.
const hex = (n: number) => 'a'.repeat(n);

describe('digestProblem length bounds', () => {
  it.each([
    ['sha256', 64],
    ['sha512', 128],
  ])('accepts %s with exactly %i hex characters', (algorithm, length) => {
    expect(digestProblem(`${algorithm}:${hex(length)}`)).toBeNull();
  });

  it.each([
    ['sha256', 63],
    ['sha256', 65],
    ['sha512', 127],
    ['sha512', 129],
  ])('rejects %s with %i hex characters', (algorithm, length) => {
    expect(digestProblem(`${algorithm}:${hex(length)}`)).toMatch(/is not a valid digest/);
  });
});
