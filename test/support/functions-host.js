// The Azure Functions host, as far as the deployment rehearsal needs it, in a process of its own:
//   node functions-host.js <app folder> '<{"myregistry.azurecr.io": "http://127.0.0.1:1234"}>'
// The environment is the Function App's app settings (plus what App Service itself sets). It loads
// <app folder>/index.js as the worker does (the app's package.json `main`), with the stand-in
// `@azure/functions-core` capturing every registration, then calls a registered function for each
// message from its parent: { id, name, input } → { id, result | error, logs }. HTTPS requests to the
// hosts in the second argument go to their loopback stand-ins in plain HTTP; any other HTTPS host is
// refused, so a rehearsal never reaches the internet.
const http = require('node:http');
const https = require('node:https');
const { join } = require('node:path');
const { HttpRequest, InvocationContext } = require('@azure/functions');

const [appDir, routesJson] = process.argv.slice(2);
const routes = JSON.parse(routesJson);

const httpsRequest = https.request;
https.request = function request(options, ...rest) {
  const host = typeof options === 'object' && !(options instanceof URL) ? options.hostname : undefined;
  if (host === undefined) return httpsRequest.call(this, options, ...rest);
  const target = routes[host];
  if (!target) throw new Error(`the rehearsal has no stand-in for https://${host}`);
  const url = new URL(target);
  const { agent: _agent, ...plain } = options;
  return http.request({ ...plain, protocol: 'http:', hostname: url.hostname, port: url.port }, ...rest);
};

const main = require(join(appDir, 'package.json')).main;
require(join(appDir, main));
const core = require(join(appDir, 'node_modules', '@azure', 'functions-core'));
const functions = new Map(core.registered.map((entry) => [entry.metadata.name, entry]));

function triggerOf(metadata) {
  const binding = Object.values(metadata.bindings).find(
    (b) => b.direction === 'in' && /Trigger$/.test(b.type),
  );
  const { type, route, methods, authLevel, schedule } = binding;
  return { type, route, methods, authLevel, schedule };
}

function inputFor(type, input) {
  if (type !== 'httpTrigger') return input;
  return new HttpRequest({
    method: input.method,
    url: input.url,
    headers: input.headers,
    query: Object.fromEntries(new URL(input.url).searchParams),
    ...(input.body === undefined ? {} : { body: { string: input.body } }),
  });
}

process.on('message', async ({ id, name, input }) => {
  const logs = [];
  try {
    const entry = functions.get(name);
    if (!entry) throw new Error(`no function ${name} is registered`);
    const context = new InvocationContext({
      invocationId: `rehearsal-${id}`,
      functionName: name,
      logHandler: (level, ...args) => logs.push(`${level}: ${args.join(' ')}`),
    });
    const result = await entry.callback(inputFor(triggerOf(entry.metadata).type, input), context);
    process.send({ id, logs, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    process.send({ id, logs, error: error instanceof Error ? error.message : String(error) });
  }
});

process.send({
  ready: core.registered.map(({ metadata }) => ({ name: metadata.name, trigger: triggerOf(metadata) })),
});
