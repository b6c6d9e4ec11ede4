import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readiness } from '../../shared/agent/apply';
import { idleAgent, idleServe } from '../support/edge-servers';
import { eventually } from '../support/tagwarden';

/**
 * Security: `GET /readyz` needs no credentials on `serve` nor on the agent, and each answer asks
 * something behind them (the history; the Kubernetes API with the agent's service account). A flood
 * of probes must not become a flood of outgoing calls: probes that arrive while a check runs share
 * it, so at most one call is outstanding however many requests come.
 */
const FLOOD = 40;

/** A check that counts its calls and answers only when released. */
function gatedCheck<T>(answer: T) {
  const state = { calls: 0, release: () => {} };
  const gate = new Promise<void>((resolve) => {
    state.release = resolve;
  });
  const check = async () => {
    state.calls += 1;
    await gate;
    return answer;
  };
  return { state, check };
}

const servers: Server[] = [];
async function listen(server: Server): Promise<{ base: string; requests: () => number }> {
  servers.push(server);
  let requests = 0;
  server.on('request', () => {
    requests += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** FLOOD probes at once, released once all have arrived; then one more: returns the statuses. */
async function flood(
  target: { base: string; requests: () => number },
  gate: ReturnType<typeof gatedCheck>,
): Promise<number[]> {
  const answers = Array.from({ length: FLOOD }, () => fetch(`${target.base}/readyz`));
  await eventually(async () => target.requests() >= FLOOD || undefined, `${FLOOD} probes arrived`);
  gate.state.release();
  return Promise.all(answers.map(async (answer) => (await answer).status));
}

describe('a flood of unauthenticated readiness probes', () => {
  it('serve: 40 probes at once cost one history check; the next probe asks again (no cache)', async () => {
    const gate = gatedCheck<string | null>(null);
    const target = await listen(idleServe({ ready: gate.check }));
    expect(await flood(target, gate)).toEqual(Array(FLOOD).fill(200));
    expect(gate.state.calls).toBe(1);
    expect((await fetch(`${target.base}/readyz`)).status).toBe(200);
    expect(gate.state.calls).toBe(2);
  });

  it('agent: 40 probes at once cost one Kubernetes API call; the next probe asks again (no cache)', async () => {
    const ready: Readiness = { ready: true, source: 'api', detail: 'the Kubernetes API answers' };
    const gate = gatedCheck(ready);
    const target = await listen(idleAgent({ client: { ready: gate.check } }));
    expect(await flood(target, gate)).toEqual(Array(FLOOD).fill(200));
    expect(gate.state.calls).toBe(1);
    expect((await fetch(`${target.base}/readyz`)).status).toBe(200);
    expect(gate.state.calls).toBe(2);
  });

  it('agent: an API call that never answers makes /readyz 503 within readyWithinMs, and does not hold later probes', async () => {
    let calls = 0;
    const ready: Readiness = { ready: true, source: 'api', detail: 'the Kubernetes API answers' };
    // The first call hangs for ever (a blackholed API server); the next ones answer.
    const hangsOnce = () => (++calls === 1 ? new Promise<Readiness>(() => {}) : Promise.resolve(ready));
    const target = await listen(idleAgent({ client: { ready: hangsOnce }, readyWithinMs: 200 }));
    const first = await fetch(`${target.base}/readyz`);
    expect(first.status).toBe(503);
    expect(await first.json()).toMatchObject({ status: 'not ready', source: 'api', problem: null });
    expect((await fetch(`${target.base}/readyz`)).status).toBe(200);
    expect(calls).toBe(2);
  });
});
