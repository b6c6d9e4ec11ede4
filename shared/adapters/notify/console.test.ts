import { type AlertOverrides, alertOf as baseAlert, FROM, TO } from '../../../test/support/alerts';
import type { Alert } from '../../core';
import { ConsoleNotifier, renderConsoleLine } from './console';

/** The console tests' alert: a warning with owners, and the shortened digest the line shows. */
function alertOf(overrides: AlertOverrides = {}): Alert {
  return baseAlert({
    actionTaken: 'reverted to sha256:aaaaaaaaaaaa…',
    severity: 'warning',
    ...overrides,
    incident: { owners: ['#payments'], ...overrides.incident },
  });
}

describe('ConsoleNotifier', () => {
  it('writes one line naming the tag, both digests, the actor, the action, the rule and the owners', async () => {
    const lines: string[] = [];
    await new ConsoleNotifier({ write: (line) => lines.push(line) }).send(alertOf());
    expect(lines).toEqual([
      'ALERT tag overwritten: 127.0.0.1:5000/payments/api:v1 sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb… ' +
        'by alice; reverted to sha256:aaaaaaaaaaaa… (rule revert, rules[0]); owners #payments\n',
    ]);
  });

  it('appends the notes and marks a critical alert', () => {
    const line = renderConsoleLine(
      alertOf({ severity: 'critical', notes: ['the registry cannot lock tags'] }),
    );
    expect(line).toMatch(/^ALERT \(critical\) tag overwritten: /);
    expect(line).toMatch(/; note: the registry cannot lock tags$/);
  });

  it('says unknown for a missing actor and none for missing owners and digests', () => {
    const line = renderConsoleLine(alertOf({ incident: { actor: null, owners: [], from: null } }));
    expect(line).toContain('none → sha256:bbbbbbbbbbbb… by unknown;');
    expect(line).toContain('owners none');
  });

  it('strips control characters so event text cannot forge a second line', () => {
    const line = renderConsoleLine(
      alertOf({ incident: { actor: 'mallory\nALERT fake\u001b[2J\u202e' }, notes: ['a\r\nb'] }),
    );
    for (const unprintable of ['\n', '\r', '\u001b', '\u202e']) expect(line).not.toContain(unprintable);
    expect(line).toContain('by mallory ALERT fake [2J;');
    expect(line).toContain('note: a b');
  });
});
