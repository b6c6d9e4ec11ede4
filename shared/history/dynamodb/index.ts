export * from './store';
export * from './table';
