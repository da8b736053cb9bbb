/** Three tiers (STYLE.md habit 13): unit specs beside the code, e2e specs under test/. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  testTimeout: 60000,
  // Two workers on the 2-core CI box: most e2e time is waiting on child processes, sockets and timers.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleFileExtensions: ['ts', 'js', 'json'],
      // The e2e run's build of src/ for spawned gateways (test/support/gateway-build.ts) is no module to map.
      modulePathIgnorePatterns: ['<rootDir>/.e2e-build/'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleFileExtensions: ['ts', 'js', 'json'],
      // The e2e run's build of src/ for spawned gateways (test/support/gateway-build.ts) is no module to map.
      modulePathIgnorePatterns: ['<rootDir>/.e2e-build/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
