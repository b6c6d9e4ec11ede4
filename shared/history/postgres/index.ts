export * from './browse';
export * from './drift';
export * from './schema';
export * from './store';
export * from './url';
