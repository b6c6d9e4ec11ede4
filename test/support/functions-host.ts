/**
 * Runs a packaged Azure Functions app (the folder a deployment zip unpacks to) as the Functions host
 * would: in a process of its own whose environment is the app settings, with a stand-in for the
 * worker's `@azure/functions-core` that captures every registered function (functions-host.js).
 *
 *   const host = await startFunctionsHost(appDir, settings, { 'myregistry.azurecr.io': acr.endpoint });
 *   host.functions;                      // [{ name, trigger: { type, route, methods, authLevel, schedule } }]
 *   await host.invoke('acrWebhook', { method: 'POST', url, headers, body });   // HttpResponseInit
 *   await host.invoke('tagwardenEffects', { isPastDue: false });
 *   await host.stop();
 */
import { type ChildProcess, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from './processes';

export interface HostedFunction {
  name: string;
  trigger: { type: string; route?: string; methods?: string[]; authLevel?: string; schedule?: string };
}

export interface HttpInput {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Invocation {
  /** What the handler returned (an HttpResponseInit for HTTP functions), or null. */
  result: { status?: number; jsonBody?: unknown; headers?: Record<string, string> } | null;
  /** Thrown by the handler: the host records the invocation as failed. */
  error?: string;
  /** What the handler logged through its InvocationContext. */
  logs: string[];
}

export interface FunctionsHost {
  functions: HostedFunction[];
  invoke(name: string, input: HttpInput | object): Promise<Invocation>;
  /** The app's own stdout and stderr (its structured log lines). */
  output(): string;
  stop(): Promise<void>;
}

/** Puts the stand-in `@azure/functions-core` where the app resolves it, as the worker provides it. */
function installCoreStandIn(appDir: string): void {
  const folder = join(appDir, 'node_modules', '@azure', 'functions-core');
  mkdirSync(folder, { recursive: true });
  copyFileSync(join(__dirname, 'functions-core-standin.js'), join(folder, 'index.js'));
  writeFileSync(join(folder, 'package.json'), '{"name":"@azure/functions-core","main":"index.js"}\n');
}

export async function startFunctionsHost(
  appDir: string,
  settings: Record<string, string>,
  routes: Record<string, string>,
): Promise<FunctionsHost> {
  installCoreStandIn(appDir);
  const child: ChildProcess = fork(join(__dirname, 'functions-host.js'), [appDir, JSON.stringify(routes)], {
    env: { PATH: process.env.PATH ?? '', ...settings },
    execArgv: [],
    silent: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const pending = new Map<number, (invocation: Invocation) => void>();
  let ready: (functions: HostedFunction[]) => void = () => {};
  const loaded = new Promise<HostedFunction[]>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the Functions host exited with ${code}:\n${output}`)));
  });
  child.on('message', (message: { ready?: HostedFunction[]; id?: number } & Invocation) => {
    if (message.ready) ready(message.ready);
    else pending.get(message.id!)?.(message);
  });
  const functions = await loaded;
  let next = 0;
  return {
    functions,
    invoke: (name, input) =>
      new Promise<Invocation>((resolve) => {
        next += 1;
        pending.set(next, resolve);
        child.send({ id: next, name, input });
      }),
    output: () => output,
    stop: () => stopProcess(child),
  };
}
