export * from './decide';
export * from './grammar';
export * from './model';
export * from './policy';
export * from './time';
export * from './transition';
export * from './alert';
export * from './errors';
