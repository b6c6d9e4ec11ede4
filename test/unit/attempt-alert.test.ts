import { attemptAlert, type Incident } from '../../shared/core';
import { buildAlert } from '../../shared/guard/outbox/alert';
import { digestOf } from '../support/events';

const SERVED = digestOf('served');
const TRIED = digestOf('tried');
const incident: Incident = {
  eventId: 'ecr:t1',
  ref: {
    registryHost: '123456789012.dkr.ecr.us-east-2.amazonaws.com',
    repository: 'payments/api',
    tag: '1.4.2',
  },
  from: SERVED,
  to: TRIED,
  restoreTo: null,
  actor: 'arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-runner',
  eventTime: '2026-11-22T10:00:00.000Z',
  ruleAction: 'lock',
  ruleSource: 'rules[0]',
  owners: ['#platform'],
  attempt: { sourceIp: '203.0.113.12', userAgent: 'docker/24.0.7', windowMs: 600_000, earlier: null },
};

describe('the alert on an overwrite attempt', () => {
  it('names who, from where, the digest still served and the one tried, as a warning', () => {
    const alert = buildAlert(incident, null, null);
    expect(alert).toEqual(attemptAlert(incident, incident.attempt!));
    expect(alert.title).toBe('Overwrite attempt blocked');
    expect(alert.severity).toBe('warning');
    expect(alert.actionTaken).toBe(
      `nothing to undo: the registry refused the push; the tag still serves ${SERVED}`,
    );
    expect(alert.notes).toEqual([
      'Who: arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-runner.',
      'From: 203.0.113.12, user agent docker/24.0.7.',
      `Tried to push ${TRIED}.`,
      'Further attempts by the same identity at this tag within 10 min are counted in history without another alert.',
    ]);
  });

  it('says when the call carried no digest, the tag is unknown, and how many attempts the last alert grouped', () => {
    const alert = attemptAlert(
      { ...incident, from: null, to: null },
      {
        ...incident.attempt!,
        sourceIp: null,
        earlier: { actor: incident.actor, since: '2026-11-22T09:40:00.000Z', count: 4 },
      },
    );
    expect(alert.actionTaken).toMatch(/the tag still serves a digest Tagwarden has not seen yet$/);
    expect(alert.notes).toContain('The refused call did not carry the digest it tried to push.');
    expect(alert.notes).toContain('From: unknown address, user agent docker/24.0.7.');
    expect(alert.notes).toContain(
      `4 attempts by ${incident.actor} from 2026-11-22T09:40:00.000Z were grouped under one earlier alert.`,
    );
  });
});
