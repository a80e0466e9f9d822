/** Unit, mock, provider and contract tiers. The engine tier has its own config (jest.e2e.config.js). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/infra", "<rootDir>/components", "<rootDir>/stacks", "<rootDir>/scripts"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["\\.e2e\\.test\\.ts$", "\\.docker\\.test\\.ts$", "\\.s3\\.test\\.ts$"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json", diagnostics: false }] },
  testTimeout: 60000,
};
