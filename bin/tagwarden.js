#!/usr/bin/env node

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(
    'error: tagwarden is not built; run `npm install` (or `npm run build`) in the project first\n',
  );
  process.exit(1);
}
require(cli).main(process.argv.slice(2));
