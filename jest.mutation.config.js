// Jest for mutation runs: the unit project (pure tests) flattened to one config, so that Stryker's
// per-test coverage hooks the test environment (its hooks do not reach into `projects`). Which test
// files run is chosen in stryker.config.mjs.
const { projects } = require('./jest.config.js');

const { displayName: _displayName, ...unit } = projects.find((project) => project.displayName === 'unit');

module.exports = { ...unit, rootDir: __dirname, testTimeout: 30_000 };
