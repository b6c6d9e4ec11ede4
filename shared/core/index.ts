export * from './alert';
export * from './decide';
export * from './errors';
export * from './grammar';
export * from './model';
export * from './policy';
export * from './time';
export * from './transition';
