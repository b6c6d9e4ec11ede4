/**
 * Stands in for `better-sqlite3` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts). The shared history index exports the SQLite store next to the DynamoDB
 * one, and esbuild keeps a CommonJS package it cannot prove free of side effects: about 14 KB of
 * each bundle, for a native module Lambda never loads (its binary is not in the bundle anyway).
 */
export default class NoSqlite {
  constructor() {
    throw new Error('SQLite is not part of the Lambda functions: they keep history in DynamoDB');
  }
}
