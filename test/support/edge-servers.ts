// `serve` and the agent with nothing real behind them, for tests of their HTTP edge (connection cap,
// slow clients, probes, headers, the metrics token): serve on an empty in-memory history with no
// source enabled; the agent patching all namespaces of a cluster whose every call throws unless the
// test gives it.
import type { Server } from 'node:http';
import { type AgentServerDeps, createAgentServer } from '../../functions/local/agent';
import { createLocalServer, type LocalServerDeps } from '../../functions/local/server';
import type { WorkloadClient } from '../../shared/agent/apply';
import { DEFAULT_POLICY } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';

const notCalled = async (): Promise<never> => {
  throw new Error('not called');
};

/** `createLocalServer` on an empty in-memory history, the default policy and no source; `deps` override. */
export function idleServe(deps: Partial<LocalServerDeps> = {}): Server {
  return createLocalServer({
    store: new MemoryHistoryStore(),
    policy: DEFAULT_POLICY,
    log: silentLogger,
    auth: () => null,
    onRecorded: () => {},
    ...deps,
  });
}

/** `createAgentServer` in patch mode over all namespaces; `client` replaces only the calls it names. */
export function idleAgent(
  deps: Partial<Omit<AgentServerDeps, 'client'>> & { client?: Partial<WorkloadClient> } = {},
): Server {
  const { client, ...rest } = deps;
  return createAgentServer({
    secret: 'agent-secret-0123456789',
    log: silentLogger,
    mode: 'patch',
    namespaces: null,
    dryRun: false,
    ...rest,
    client: { ready: notCalled, list: notCalled, patch: notCalled, running: notCalled, ...client },
  });
}
