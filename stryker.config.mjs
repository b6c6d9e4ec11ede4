// Mutation testing, `npm run mutate`: slow, so not part of CI. Narrow it to one room with
// `npm run mutate -- --mutate 'shared/core/**/*.ts,!**/*.test.ts'` (a `--mutate` on the command
// line replaces the list below, exclusion of the co-located tests included). Reports land in
// reports/mutation/.

/**
 * Each room is judged by its own pure tests. Running every unit test against every mutant costs
 * hours: a third of the core's mutants are module-level (the grammar's regular expressions) and
 * need every related test file, and the parsers import the core. The cross-parser fuzz test
 * (over a minute a run) is left to the ordinary suite.
 */
const TESTS_OF_ROOM = {
  'shared/core': [
    'test/unit/decide.test.ts',
    'test/unit/policy.test.ts',
    'test/unit/time-and-grammar.test.ts',
    'test/unit/history-store.memory.test.ts',
    'test/unit/core-*.test.ts',
    'shared/core/*.test.ts',
  ],
  'shared/sources': ['shared/sources/*.test.ts'],
  'shared/history': ['test/unit/history-store.memory.test.ts', 'shared/history/*.test.ts'],
};

// The stores' shared code: the recording step is in the core; what every store shares is
// shared/history/*.ts (the per-store folders are adapters, tested against real databases).
const MUTATE = ['shared/core/**/*.ts', 'shared/sources/**/*.ts', 'shared/history/*.ts', '!**/*.test.ts'];

/** The globs given with `--mutate` (or `-m`) on the command line, else the whole set. */
function mutateGlobs(argv) {
  const at = argv.findIndex((arg) => arg === '--mutate' || arg === '-m');
  const inline = argv.find((arg) => arg.startsWith('--mutate='));
  const list = at >= 0 ? argv[at + 1] : inline?.slice('--mutate='.length);
  return list ? list.split(',') : MUTATE;
}

function testsFor(globs) {
  const rooms = Object.keys(TESTS_OF_ROOM).filter((room) => globs.some((glob) => glob.startsWith(room)));
  const tests =
    rooms.length > 0 ? rooms.flatMap((room) => TESTS_OF_ROOM[room]) : Object.values(TESTS_OF_ROOM).flat();
  return [...new Set(tests)].map((path) => `<rootDir>/${path}`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'jest.mutation.config.js',
    config: { testMatch: testsFor(mutateGlobs(process.argv)) },
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  // The machine is shared: one test process at a time.
  concurrency: 1,
  // The pure code: the core, the wire-format parsers, and what every history store shares.
  mutate: MUTATE,
  // Type-checking each mutant (the `typescript` checker) costs more than the mutants it would drop.
  checkers: [],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 85, break: null },
};
