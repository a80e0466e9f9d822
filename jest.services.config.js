/**
 * Services tier: container specs on a real Docker engine (*.docker.test.ts; npm run test:services
 * builds the stand-in images and starts the engine first) and the backup store against a real
 * S3-compatible server (*.s3.test.ts: versitygw from scripts/s3-server.sh, built once into the
 * toolchain cache). One file at a time: the engine and 2 cores are shared.
 */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/components", "<rootDir>/infra"],
  testMatch: ["**/*.docker.test.ts", "**/*.s3.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json", diagnostics: false }] },
  maxWorkers: 1,
  testTimeout: 300000,
};
