import fc from 'fast-check';
import docsPushed from '../../test/fixtures/acr-eventgrid/docs-sample-image-pushed-cloudevents.json';
import deletedSingle from '../../test/fixtures/acr-eventgrid/image-deleted-cloudevents-single.json';
import pushedEventGrid from '../../test/fixtures/acr-eventgrid/image-pushed-eventgrid-schema.json';
import mixedBatch from '../../test/fixtures/acr-eventgrid/mixed-batch.json';
import validation from '../../test/fixtures/acr-eventgrid/subscription-validation.json';
import { expectNoCrash } from '../../test/support/parsing';
import { acrEventgridParser, cloudEventsValidationHeaders } from './acr-eventgrid';

const DIGEST = 'sha256:9b2ad6e3b5e0c6b4f5ab0f0f9a8f3c2d1e0b9a8f7e6d5c4b3a29180706050403';

function understood(body: unknown) {
  const result = acrEventgridParser.parse(body);
  if (!result.ok) throw new Error(`expected the body to be understood, got: ${result.reason}`);
  return result;
}

describe('ACR events through Event Grid', () => {
  test("normalizes Microsoft's own ImagePushed sample, a CloudEvents array", () => {
    expect(understood(docsPushed).items).toEqual([
      {
        kind: 'event',
        event: {
          id: '31c51664-e5bd-416a-a5df-e5206bc47ed0',
          action: 'push',
          registryHost: 'demo.azurecr.io',
          repository: 'aci-helloworld',
          tag: 'v1',
          digest: 'sha256:213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5',
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          timestamp: '2018-04-25T21:39:47.276585742Z',
          actor: null,
        },
      },
    ]);
  });

  test('normalizes an Event Grid schema event, lower-casing the host and keeping the actor and the index digest', () => {
    expect(understood(pushedEventGrid).items).toEqual([
      {
        kind: 'event',
        event: {
          id: '31c51664-e5bd-416a-a5df-e5206bc47ed1',
          action: 'push',
          registryHost: 'demo.azurecr.io',
          repository: 'payments/api',
          tag: 'v1.4.2',
          digest: DIGEST,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          timestamp: '2026-11-22T10:00:00.123456789Z',
          actor: 'ci-bot',
        },
      },
    ]);
  });

  test('takes a single CloudEvents object as well as an array, and turns ImageDeleted with a tag into a delete', () => {
    expect(understood(deletedSingle).items).toEqual([
      {
        kind: 'event',
        event: expect.objectContaining({
          id: 'f06e3921-301f-42ec-b368-212f7d5354be',
          action: 'delete',
          tag: 'v1.4.2',
          digest: DIGEST,
        }),
      },
    ]);
  });

  test('answers the subscription-validation handshake with the validation code', () => {
    expect(understood(validation)).toEqual({
      ok: true,
      items: [{ kind: 'ignored', reason: 'Event Grid subscription validation handshake' }],
      reply: { status: 200, body: { validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' } },
    });
  });

  test.each([
    ['missing', {}],
    ['not a string', { validationCode: 42 }],
    ['longer than 128 characters', { validationCode: 'a'.repeat(129) }],
    ['with a control character', { validationCode: 'abc\ndef' }],
  ])('rejects a validation code that is %s', (_what, data) => {
    const result = acrEventgridParser.parse([
      { id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data },
    ]);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/validationCode/) });
  });

  test('judges each item of a batch on its own: one event, a redacted digest, a chart, a traversal, a digest-only push', () => {
    const { items } = understood(mixedBatch);
    expect(items.map((i) => i.kind)).toEqual(['event', 'rejected', 'ignored', 'rejected', 'ignored']);
    expect(items[1]).toMatchObject({ reason: expect.stringMatching(/^\[1\]: .*data\.target\.digest/) });
    expect(items[2]).toMatchObject({ reason: expect.stringMatching(/^\[2\]: .*Helm chart/) });
    expect(items[3]).toMatchObject({ reason: expect.stringMatching(/^\[3\]: .*data\.target\.repository/) });
    expect(items[4]).toMatchObject({ reason: expect.stringMatching(/^\[4\]: digest-only push/) });
  });

  test('parses an ImageDeleted without a tag as a delete by digest, ignored with that reason', () => {
    const byDigest = structuredClone(deletedSingle) as { data: { target: Record<string, unknown> } };
    delete byDigest.data.target.tag;
    const { items } = understood(byDigest);
    expect(items).toEqual([
      {
        kind: 'ignored',
        reason: expect.stringMatching(
          /^manifest delete by digest sha256:9b2ad6e3[0-9a-f]{56} in .+\/payments\/api:/,
        ),
        digestDelete: expect.objectContaining({
          repository: 'payments/api',
          digest: 'sha256:9b2ad6e3b5e0c6b4f5ab0f0f9a8f3c2d1e0b9a8f7e6d5c4b3a29180706050403',
        }),
      },
    ]);
  });

  test('rejects bodies that are not Event Grid deliveries, whole', () => {
    for (const body of [null, 'x', [], {}, { events: [] }, [{ id: 'x' }], [1, 2]]) {
      expect(acrEventgridParser.parse(body)).toEqual({
        ok: false,
        reason: expect.stringMatching(/Event Grid/),
      });
    }
  });

  test('answers the CloudEvents OPTIONS handshake only for a host-name origin', () => {
    expect(
      cloudEventsValidationHeaders({ headers: { 'webhook-request-origin': 'eventgrid.azure.net' } }),
    ).toEqual({
      'WebHook-Allowed-Origin': 'eventgrid.azure.net',
      'WebHook-Allowed-Rate': '120',
    });
    for (const origin of [
      undefined,
      '',
      'evil.example\r\nSet-Cookie: a=b',
      'a'.repeat(254),
      'https://x.example',
    ]) {
      expect(cloudEventsValidationHeaders({ headers: { 'webhook-request-origin': origin } })).toBeNull();
    }
  });

  test('never throws on near-valid or random bodies (2,000 generated)', () => {
    const near = fc.record({
      id: fc.oneof(fc.string(), fc.jsonValue()),
      eventType: fc.oneof(
        fc.constantFrom(
          'Microsoft.ContainerRegistry.ImagePushed',
          'Microsoft.EventGrid.SubscriptionValidationEvent',
        ),
        fc.jsonValue(),
      ),
      data: fc.oneof(
        fc.jsonValue(),
        fc.record({
          target: fc.jsonValue(),
          request: fc.jsonValue(),
          timestamp: fc.jsonValue(),
          validationCode: fc.jsonValue(),
        }),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(near, fc.array(near, { maxLength: 3 }), fc.jsonValue()), (body) => {
        const result = acrEventgridParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
