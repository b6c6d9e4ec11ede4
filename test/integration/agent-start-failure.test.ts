import type { FakeKubernetes } from '../support/fake-kubernetes';

// test/support/agent.ts: an agent process that fails to start must not leave the fake Kubernetes API
// it started for it listening (an open server keeps jest from exiting, and the next test's port busy).

const started: FakeKubernetes[] = [];
jest.mock('../support/fake-kubernetes', () => {
  const actual = jest.requireActual('../support/fake-kubernetes');
  return {
    ...actual,
    startFakeKubernetes: async () => {
      const kube = await actual.startFakeKubernetes();
      started.push(kube);
      return kube;
    },
  };
});

import { startAgentWithFakeKubernetes } from '../support/agent';
import { buildCli } from '../support/tagwarden';

beforeAll(() => buildCli());
// Without the fix under test the fake is still open: close it so the file's failure is the assertion alone.
afterAll(() => Promise.all(started.map((kube) => kube.close().catch(() => {}))));

it('closes the fake Kubernetes API it started when the agent process exits at start', async () => {
  await expect(
    startAgentWithFakeKubernetes({ process: true, extraArgs: ['--no-such-flag'] }),
  ).rejects.toThrow(/tagwarden agent exited with 1/);
  expect(started).toHaveLength(1);
  await expect(fetch(`${started[0]!.url}/api/v1/namespaces`)).rejects.toThrow();
});
