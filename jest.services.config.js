/**
 * Services tier: container specs on a real Docker engine (npm run test:services, which builds the
 * stand-in images and starts the engine first). One file at a time: the engine and 2 cores are shared.
 */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/components", "<rootDir>/infra"],
  testMatch: ["**/*.docker.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json", diagnostics: false }] },
  maxWorkers: 1,
  testTimeout: 300000,
};
