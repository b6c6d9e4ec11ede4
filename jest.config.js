// Four projects: unit (pure, fast), integration (real SQLite, servers on loopback), e2e (real registry),
// deploy (the README's deployment steps rehearsed against the built artefacts).
const swc = ['@swc/jest', { jsc: { target: 'es2022' } }];
// preact ships ESM only, as .mjs: those files are compiled too (no other .mjs is).
const transform = { '^.+\\.(t|j)s$': swc, '/node_modules/preact/.+\\.mjs$': swc };
// ESM-only packages (the Kubernetes client and what it imports, preact) are compiled to CommonJS like our code.
const ESM_ONLY = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', 'preact'];
const common = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/shared/**/*.test.ts',
        '<rootDir>/functions/**/*.test.ts',
        '<rootDir>/test/unit/**/*.test.ts',
      ],
    },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // The README's deployment sections, rehearsed from the synthesized template and the built packages.
    { ...common, displayName: 'deploy', testMatch: ['<rootDir>/test/deploy/**/*.test.ts'] },
  ],
};
