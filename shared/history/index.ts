export * from './browse';
export * from './drift-port';
export * from './failure-summary';
export * from './memory';
export * from './port';
export * from './sqlite';
