import { type CurrentWebhook, describePlan, planWebhook } from './setup';

const TOKEN = 'a-webhook-token-0123456789';
const wanted = { serviceUri: 'https://tagwarden.azurewebsites.net/api/webhooks/acr', token: TOKEN };
const upToDate: CurrentWebhook = {
  serviceUri: wanted.serviceUri,
  customHeaders: { Authorization: `Bearer ${TOKEN}` },
  actions: ['delete', 'push'],
  status: 'enabled',
  scope: '',
};

describe('planWebhook', () => {
  it('creates a missing webhook for push and delete on every repository, in the registry location', () => {
    expect(planWebhook(null, wanted, 'westeurope')).toEqual({
      kind: 'create',
      body: {
        location: 'westeurope',
        serviceUri: wanted.serviceUri,
        customHeaders: { Authorization: `Bearer ${TOKEN}` },
        actions: ['push', 'delete'],
        status: 'enabled',
        scope: '',
      },
    });
  });

  it('changes nothing when the webhook already is what Tagwarden needs (action order aside)', () => {
    expect(planWebhook(upToDate, wanted, 'westeurope')).toEqual({ kind: 'none' });
  });

  it('updates only the URL when only the URL differs', () => {
    const plan = planWebhook({ ...upToDate, serviceUri: 'https://old.example/api' }, wanted, 'westeurope');
    expect(plan).toEqual({
      kind: 'update',
      changed: ['serviceUri'],
      body: { serviceUri: wanted.serviceUri },
    });
  });

  it('replaces a wrong token but keeps other custom headers, matching the header name in any case', () => {
    const plan = planWebhook(
      { ...upToDate, customHeaders: { authorization: 'Bearer old', 'X-Team': 'payments' } },
      wanted,
      'westeurope',
    );
    expect(plan).toEqual({
      kind: 'update',
      changed: ['customHeaders'],
      body: { customHeaders: { 'X-Team': 'payments', Authorization: `Bearer ${TOKEN}` } },
    });
  });

  it('re-enables a disabled webhook, widens a scoped one and restores the actions', () => {
    const plan = planWebhook(
      { ...upToDate, actions: ['push', 'quarantine'], status: 'disabled', scope: 'payments:*' },
      wanted,
      'westeurope',
    );
    expect(plan).toEqual({
      kind: 'update',
      changed: ['actions', 'status', 'scope'],
      body: { actions: ['push', 'delete'], status: 'enabled', scope: '' },
    });
  });
});

describe('describePlan', () => {
  it('never prints the token', () => {
    const lines = [
      ...describePlan(planWebhook(null, wanted, 'westeurope'), 'tagwarden'),
      ...describePlan(
        planWebhook({ ...upToDate, customHeaders: { 'X-Other': 'secret-too' } }, wanted, 'westeurope'),
        'tagwarden',
      ),
    ].join('\n');
    expect(lines).not.toContain(TOKEN);
    expect(lines).not.toContain('secret-too');
    expect(lines).toContain('Authorization: Bearer ***');
    expect(lines).toContain('scope: (every repository)');
  });

  it('says when there is nothing to do', () => {
    expect(describePlan({ kind: 'none' }, 'tagwarden')).toEqual([
      'webhook tagwarden is up to date; nothing to change',
    ]);
  });
});
