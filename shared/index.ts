// The library surface other runtimes (and tests in child processes) load from dist/index.js.
export * from './core';
export * from './history';
export * from './sources';
