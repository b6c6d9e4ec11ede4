import fc from 'fast-check';
import deleteManifestWithoutTag from '../../test/fixtures/acr/delete-manifest-without-tag.json';
import deleteWithTag from '../../test/fixtures/acr/delete-with-tag.json';
import docsChartDelete from '../../test/fixtures/acr/docs-sample-chart-delete.json';
import docsChartPush from '../../test/fixtures/acr/docs-sample-chart-push.json';
import docsDeleteRedacted from '../../test/fixtures/acr/docs-sample-delete-redacted-digest.json';
import docsPushRedacted from '../../test/fixtures/acr/docs-sample-push-redacted-digest.json';
import ping from '../../test/fixtures/acr/ping.json';
import pushBadTimestamp from '../../test/fixtures/acr/push-bad-timestamp.json';
import pushControlCharacters from '../../test/fixtures/acr/push-control-characters.json';
import pushDigestOnly from '../../test/fixtures/acr/push-digest-only.json';
import pushMissingHost from '../../test/fixtures/acr/push-missing-host.json';
import pushNonAsciiTag from '../../test/fixtures/acr/push-non-ascii-tag.json';
import pushPathTraversal from '../../test/fixtures/acr/push-path-traversal.json';
import pushSha1Invalid from '../../test/fixtures/acr/push-sha1-invalid.json';
import pushSha512Valid from '../../test/fixtures/acr/push-sha512-valid.json';
import pushTag129 from '../../test/fixtures/acr/push-tag-129-chars.json';
import pushUppercaseHost from '../../test/fixtures/acr/push-uppercase-host.json';
import pushUppercaseRepository from '../../test/fixtures/acr/push-uppercase-repository.json';
import pushValid from '../../test/fixtures/acr/push-valid.json';
import quarantine from '../../test/fixtures/acr/quarantine.json';
import { expectNoCrash, onlyItem as onlyParsedItem } from '../../test/support/parsing';
import { acrParser } from './acr';

const DIGEST = 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf';

const onlyItem = (body: unknown) => onlyParsedItem(acrParser, body);

const validPush = {
  id: 'cb8c3971-9adc-488b-9f3e-43cbb4974ff5',
  action: 'push',
  registryHost: 'myregistry.azurecr.io',
  repository: 'hello-world',
  tag: 'v1',
  digest: DIGEST,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  timestamp: '2023-11-17T16:52:01.343145347Z',
  actor: null,
};

describe('ACR parser', () => {
  it('is registered under the name "acr"', () => {
    expect(acrParser.name).toBe('acr');
  });

  describe('the documentation samples', () => {
    it("rejects Microsoft's push sample because its digest is redacted with x", () => {
      expect(onlyItem(docsPushRedacted)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.digest "sha256:xxxx[0-9a-fx]+" is not a valid digest/),
      });
    });

    it("rejects Microsoft's delete sample for the same redacted digest, although it carries no tag", () => {
      expect(onlyItem(docsDeleteRedacted)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.digest "sha256:xxxx.*" is not a valid digest/),
      });
    });

    it('ignores the chart_push sample because Helm chart events are not tracked', () => {
      expect(onlyItem(docsChartPush)).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^action "chart_push" ignored: Helm chart/),
      });
    });

    it('ignores the chart_delete sample', () => {
      expect(onlyItem(docsChartDelete)).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^action "chart_delete" ignored/),
      });
    });
  });

  it('turns the push sample, corrected to a valid digest, into a push event', () => {
    expect(onlyItem(pushValid)).toEqual({ kind: 'event', event: validPush });
  });

  it('lower-cases the registry host', () => {
    expect(onlyItem(pushUppercaseHost)).toEqual({ kind: 'event', event: validPush });
  });

  it('turns a delete that names a tag into a delete event, time normalized to UTC', () => {
    expect(onlyItem(deleteWithTag)).toEqual({
      kind: 'event',
      event: {
        ...validPush,
        id: '5b0f2d7e-3c1a-4e9b-b6a2-7d8e9f0a1b2c',
        action: 'delete',
        timestamp: '2023-11-17T16:54:53.657764628Z',
      },
    });
  });

  it('parses a manifest delete without a tag as a delete by digest, and ignores it with that reason', () => {
    expect(onlyItem(deleteManifestWithoutTag)).toEqual({
      kind: 'ignored',
      reason: expect.stringMatching(
        /^manifest delete by digest sha256:fea8895f[0-9a-f]{56} in myregistry\.azurecr\.io\/hello-world: every tag serving it is gone/,
      ),
      digestDelete: {
        id: 'afc359ce-df7f-4e32-8a1d-1ff8aa80927b',
        registryHost: 'myregistry.azurecr.io',
        repository: 'hello-world',
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        timestamp: '2023-11-17T16:54:53.657764628Z',
        actor: null,
      },
    });
  });

  it('ignores a delete that names neither a tag nor a digest', () => {
    const { digest: _digest, ...target } = deleteManifestWithoutTag.target;
    expect(onlyItem({ ...deleteManifestWithoutTag, target })).toEqual({
      kind: 'ignored',
      reason: 'delete without a tag or a digest is not a tag event',
    });
  });

  it('ignores a push without a tag as digest-only', () => {
    expect(onlyItem(pushDigestOnly)).toEqual({
      kind: 'ignored',
      reason: expect.stringMatching(/^digest-only push/),
    });
  });

  it('ignores a ping', () => {
    expect(onlyItem(ping)).toEqual({
      kind: 'ignored',
      reason: expect.stringMatching(/^action "ping" ignored/),
    });
  });

  it('ignores a quarantine notice', () => {
    expect(onlyItem(quarantine)).toEqual({
      kind: 'ignored',
      reason: expect.stringMatching(/^action "quarantine" ignored/),
    });
  });

  it('ignores an unknown action with a reason', () => {
    expect(onlyItem({ ...pushValid, action: 'untag' })).toEqual({
      kind: 'ignored',
      reason: 'action "untag" ignored: not a push or delete',
    });
  });

  it('rejects a push without request.host', () => {
    expect(onlyItem(pushMissingHost)).toEqual({ kind: 'rejected', reason: 'request.host is missing' });
  });

  it('rejects an unparseable timestamp', () => {
    expect(onlyItem(pushBadTimestamp)).toEqual({
      kind: 'rejected',
      reason: 'timestamp "2023-13-45T99:00:00Z" is not an RFC 3339 time',
    });
  });

  it('rejects a push without a target, naming the field', () => {
    const { target: _target, ...rest } = pushValid;
    expect(onlyItem(rest)).toEqual({ kind: 'rejected', reason: 'target is missing' });
  });

  it('rejects a push without a digest', () => {
    const { digest: _digest, ...target } = pushValid.target;
    expect(onlyItem({ ...pushValid, target })).toEqual({
      kind: 'rejected',
      reason: 'target.digest is missing on a push',
    });
  });

  describe('hostile pushes', () => {
    it('rejects a path-traversal repository "../etc"', () => {
      expect(onlyItem(pushPathTraversal)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.repository "\.\.\/etc" is not a valid repository name/),
      });
    });

    it('rejects an upper-case repository', () => {
      expect(onlyItem(pushUppercaseRepository)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.repository "Payments\/API"/),
      });
    });

    it('rejects a non-ASCII tag', () => {
      expect(onlyItem(pushNonAsciiTag)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.tag "latést" is not a valid tag/),
      });
    });

    it('rejects a tag with control characters', () => {
      expect(onlyItem(pushControlCharacters)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.tag "v1\\u0000\\n"/),
      });
    });

    it('accepts a sha512 digest', () => {
      expect(onlyItem(pushSha512Valid)).toEqual({
        kind: 'event',
        event: { ...validPush, digest: `sha512:${'0123456789abcdef'.repeat(8)}` },
      });
    });

    it('rejects a sha1 digest', () => {
      expect(onlyItem(pushSha1Invalid)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.digest "sha1:[0-9a-f]{40}" is not a valid digest/),
      });
    });

    it('rejects a tag longer than 128 characters', () => {
      expect(onlyItem(pushTag129)).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^target\.tag "v1+\.\.\." is not a valid tag/),
      });
    });

    it('rejects a host that is not a host name', () => {
      expect(onlyItem({ ...pushValid, request: { host: 'evil.example/../x' } })).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^registry host "evil\.example\/\.\.\/x" is not a valid host/),
      });
    });
  });

  it.each([
    ['null', null],
    ['an array', [pushValid]],
    ['an object without an action', { id: 'x', target: {} }],
    ['an object whose action is not a string', { action: 1 }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(acrParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not an ACR webhook event/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearEvent = fc.record(
      {
        id: fc.oneof(fc.string(), fc.jsonValue()),
        timestamp: fc.oneof(fc.constant('2023-11-17T16:52:01.343145347Z'), fc.string(), fc.jsonValue()),
        action: fc.oneof(fc.constantFrom('push', 'delete', 'ping', 'chart_push'), fc.jsonValue()),
        target: fc.oneof(
          fc.record(
            {
              digest: fc.oneof(fc.constant(DIGEST), fc.string()),
              tag: fc.string(),
              repository: fc.string(),
              mediaType: fc.string(),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        request: fc.oneof(fc.record({ host: fc.string() }), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearEvent), (body) => {
        const result = acrParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
