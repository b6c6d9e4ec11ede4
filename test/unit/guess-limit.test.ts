import { budgetKey, GuessLimiter } from '../../functions/local/guess-limit';

// The limiter of wrong api.token guesses (login form and read API of `serve`): per address, within a
// sliding window, with a cap on the addresses remembered. The clock is a variable, never a sleep.

function limiter(limits = { failures: 3, windowMs: 60_000, addresses: 100 }) {
  const clock = { now: 1_000_000 };
  return { clock, guesses: new GuessLimiter(limits, () => clock.now) };
}

describe('GuessLimiter', () => {
  it('lets an address fail up to the limit, then locks it until its oldest failure leaves the window', () => {
    const { clock, guesses } = limiter();
    for (let i = 0; i < 3; i++) {
      expect(guesses.lockedFor('10.0.0.1')).toBe(0);
      guesses.failure('10.0.0.1');
      clock.now += 10_000;
    }
    // failures at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s
    expect(guesses.lockedFor('10.0.0.1')).toBe(30);
    clock.now += 29_999;
    expect(guesses.lockedFor('10.0.0.1')).toBe(1);
    clock.now += 1;
    expect(guesses.lockedFor('10.0.0.1')).toBe(0);
    // one more failure fills the window again (10 s, 20 s and now): locked until 10 s + 60 s
    guesses.failure('10.0.0.1');
    expect(guesses.lockedFor('10.0.0.1')).toBe(10);
  });

  it('counts per address: one address locked out leaves another free', () => {
    const { guesses } = limiter();
    for (let i = 0; i < 3; i++) guesses.failure('10.0.0.1');
    guesses.failure('10.0.0.2');
    expect(guesses.lockedFor('10.0.0.1')).toBeGreaterThan(0);
    expect(guesses.lockedFor('10.0.0.2')).toBe(0);
    expect(guesses.lockedFor('::1')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    const { clock, guesses } = limiter();
    guesses.failure('a');
    guesses.failure('a');
    clock.now += 60_000;
    guesses.failure('a');
    guesses.failure('a');
    expect(guesses.lockedFor('a')).toBe(0);
    guesses.failure('a');
    expect(guesses.lockedFor('a')).toBe(60);
  });

  it('remembers at most the cap of addresses, dropping the one whose last failure is oldest', () => {
    const { clock, guesses } = limiter({ failures: 2, windowMs: 60_000, addresses: 3 });
    guesses.failure('a');
    guesses.failure('a');
    clock.now += 1;
    guesses.failure('b');
    guesses.failure('b');
    clock.now += 1;
    guesses.failure('c');
    clock.now += 1;
    guesses.failure('a'); // a is now the most recent, b the oldest
    guesses.failure('d');
    expect(guesses.size).toBe(3);
    expect(guesses.lockedFor('b')).toBe(0);
    expect(guesses.lockedFor('a')).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) guesses.failure(`10.1.${i >> 8}.${i & 255}`);
    expect(guesses.size).toBe(3);
  });

  it('tells of each lock-out once, when the failure that fills the window lands', () => {
    const clock = { now: 0 };
    const lockouts: [string, number][] = [];
    const guesses = new GuessLimiter(
      { failures: 3, windowMs: 60_000, addresses: 100 },
      () => clock.now,
      (address, seconds) => lockouts.push([address, seconds]),
    );
    guesses.failure('a');
    clock.now += 5_000;
    guesses.failure('a');
    expect(lockouts).toEqual([]);
    guesses.failure('a');
    guesses.failure('b');
    expect(lockouts).toEqual([['a', 55]]); // at 5 s; the first failure (0 s) leaves at 60 s
    clock.now += 55_000; // it leaves; one more locks again, until the second (5 s) leaves at 65 s
    guesses.failure('a');
    expect(lockouts).toEqual([
      ['a', 55],
      ['a', 5],
    ]);
  });

  it('keeps at most the limit of failure times per address', () => {
    const { clock, guesses } = limiter();
    for (let i = 0; i < 50; i++) {
      guesses.failure('a');
      clock.now += 1000;
    }
    // the last three failures were at 47 s, 48 s, 49 s; now 50 s: free at 47 s + 60 s
    expect(guesses.lockedFor('a')).toBe(57);
  });
});

describe('budgetKey: whose budget an address spends', () => {
  it('gives every address of one IPv6 /64 one budget, whichever way it is written', () => {
    const key = budgetKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    for (const same of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0000:0000:0000:0042',
      '2001:DB8:1:2::abcd',
      'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::7'),
      '2001:db8:1:2::10.0.0.1',
    ])
      expect(budgetKey(same)).toBe(key);
  });

  it('gives the next /64, IPv4 and loopback budgets of their own', () => {
    expect(budgetKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(budgetKey('::1')).toBe('0:0:0:0::/64');
    expect(budgetKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(budgetKey('203.0.113.7')).toBe('203.0.113.7');
    expect(budgetKey('unknown')).toBe('unknown');
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(budgetKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(budgetKey('::FFFF:127.0.0.2')).toBe('127.0.0.2');
  });

  it('locks out a whole /64 once its addresses together guess wrong too often', () => {
    const guesses = new GuessLimiter({ failures: 3, windowMs: 60_000, addresses: 100 }, () => 0);
    for (const host of ['::1', '::2', '::3']) guesses.failure(budgetKey(`2001:db8:0:9${host}`));
    expect(guesses.lockedFor(budgetKey('2001:db8:0:9::ffff'))).toBe(60);
    expect(guesses.lockedFor(budgetKey('2001:db8:0:a::1'))).toBe(0);
  });
});
