import { createHmac } from 'node:crypto';
import { authenticateSource } from '../../shared/auth/source-auth';
import { parserFor } from '../../shared/sources';

/** The auth rules a source declares. */
const rulesOf = (source: string) => parserFor(source)!.auth;

const TOKEN = 'token-0123456789abcdef';
const SECRET = 'secret-0123456789abcdef';
const body = Buffer.from('{"action":"published"}');
const sign = (bytes: Buffer, secret = SECRET) => createHmac('sha256', secret).update(bytes).digest('hex');
const request = (headers: Record<string, string> = {}, query = '', rawBody = body) => ({
  headers,
  query: new URLSearchParams(query),
  rawBody,
});

describe('authenticating a webhook per source', () => {
  test('accepts any request for a source explicitly open, with neither token nor secret', () => {
    expect(authenticateSource(rulesOf('distribution'), { open: true }, request())).toEqual({ ok: true });
  });

  test('refuses every request for a source with neither token nor secret that is not open', () => {
    for (const config of [{}, { open: false }, { token: '' }, { secret: '' }]) {
      expect(
        authenticateSource(rulesOf('distribution'), config, request({ authorization: 'Bearer anything' })),
      ).toEqual({ ok: false, reason: 'no token or secret is configured for this source' });
    }
  });

  test('expects a Bearer token in Authorization for distribution, ecr, acr and harbor', () => {
    for (const source of ['distribution', 'ecr', 'acr', 'harbor']) {
      expect(
        authenticateSource(rulesOf(source), { token: TOKEN }, request({ authorization: `Bearer ${TOKEN}` })),
      ).toEqual({ ok: true });
      expect(
        authenticateSource(rulesOf(source), { token: TOKEN }, request({ authorization: `Bearer ${TOKEN}x` })),
      ).toEqual({ ok: false, reason: 'invalid credentials' });
      // A token in the URL does not count for a source that can send headers.
      expect(authenticateSource(rulesOf(source), { token: TOKEN }, request({}, `token=${TOKEN}`)).ok).toBe(
        false,
      );
    }
  });

  test('expects the token in the URL query for dockerhub, quay, acr-eventgrid and gar, which cannot send headers', () => {
    for (const source of ['dockerhub', 'quay', 'acr-eventgrid', 'gar']) {
      expect(
        authenticateSource(
          rulesOf(source),
          { token: TOKEN },
          request({}, `token=${encodeURIComponent(TOKEN)}`),
        ),
      ).toEqual({ ok: true });
      expect(authenticateSource(rulesOf(source), { token: TOKEN }, request({}, 'token=guess'))).toEqual({
        ok: false,
        reason: 'invalid credentials',
      });
      expect(
        authenticateSource(rulesOf(source), { token: TOKEN }, request({ authorization: `Bearer ${TOKEN}` })),
      ).toEqual({
        ok: false,
        reason: 'missing token query parameter',
      });
    }
  });

  test('uses a configured header instead of the source default', () => {
    const config = { token: TOKEN, header: 'X-Registry-Token' };
    expect(authenticateSource(rulesOf('quay'), config, request({ 'x-registry-token': TOKEN }))).toEqual({
      ok: true,
    });
    expect(authenticateSource(rulesOf('quay'), config, request({}, `token=${TOKEN}`)).ok).toBe(false);
  });

  test('verifies GitHub X-Hub-Signature-256 over the raw bytes', () => {
    const config = { secret: SECRET };
    expect(
      authenticateSource(rulesOf('ghcr'), config, request({ 'x-hub-signature-256': `sha256=${sign(body)}` })),
    ).toEqual({ ok: true });
    expect(
      authenticateSource(
        rulesOf('ghcr'),
        config,
        request({ 'x-hub-signature-256': `sha256=${sign(body, 'other-secret-0123456')}` }),
      ),
    ).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
    // One changed byte of the body breaks the signature.
    const tampered = Buffer.from('{"action":"publisheD"}');
    expect(
      authenticateSource(
        rulesOf('ghcr'),
        config,
        request({ 'x-hub-signature-256': `sha256=${sign(body)}` }, '', tampered),
      ).ok,
    ).toBe(false);
    expect(authenticateSource(rulesOf('ghcr'), config, request())).toEqual({
      ok: false,
      reason: 'missing x-hub-signature-256 signature header',
    });
  });

  test('takes a JFrog secret token as is in X-JFrog-Event-Auth, or a JFrog body signature there', () => {
    expect(
      authenticateSource(rulesOf('artifactory'), { token: TOKEN }, request({ 'x-jfrog-event-auth': TOKEN })),
    ).toEqual({ ok: true });
    expect(
      authenticateSource(rulesOf('artifactory'), { token: TOKEN }, request({ 'x-jfrog-event-auth': 'nope' }))
        .ok,
    ).toBe(false);
    expect(
      authenticateSource(
        rulesOf('artifactory'),
        { secret: SECRET },
        request({ 'x-jfrog-event-auth': sign(body) }),
      ),
    ).toEqual({ ok: true });
    expect(
      authenticateSource(
        rulesOf('artifactory'),
        { secret: SECRET },
        request({ 'x-jfrog-event-auth': sign(Buffer.from('x')) }),
      ).ok,
    ).toBe(false);
  });

  test('requires both when both a secret and a token are configured', () => {
    const config = { secret: SECRET, token: TOKEN, header: 'X-Extra' };
    const signature = { 'x-hub-signature-256': `sha256=${sign(body)}` };
    expect(authenticateSource(rulesOf('ghcr'), config, request({ ...signature, 'x-extra': TOKEN }))).toEqual({
      ok: true,
    });
    expect(authenticateSource(rulesOf('ghcr'), config, request(signature)).ok).toBe(false);
  });

  test('never puts the expected token or secret into a reason', () => {
    const reasons = [
      authenticateSource(rulesOf('distribution'), { token: TOKEN }, request({ authorization: 'Bearer x' })),
      authenticateSource(rulesOf('dockerhub'), { token: TOKEN }, request({}, 'token=x')),
      authenticateSource(
        rulesOf('ghcr'),
        { secret: SECRET },
        request({ 'x-hub-signature-256': 'sha256=00' }),
      ),
    ].map((r) => JSON.stringify(r));
    for (const reason of reasons) {
      expect(reason).not.toContain(TOKEN);
      expect(reason).not.toContain(SECRET);
    }
  });
});
