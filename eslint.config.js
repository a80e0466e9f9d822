// ESLint flat config: typescript-eslint's type-aware rules plus Pulumi's own rules, which catch an
// Output interpolated into a template string (it prints "Calling [toString] on an [Output<T>]...").
const ts = require("typescript");
const tseslint = require("typescript-eslint");
const pulumi = require("@pulumi/eslint-plugin");

// The program's files, as tsconfig.json lists them (one list: that file, which allows comments).
const program = ts.readConfigFile(`${__dirname}/tsconfig.json`, ts.sys.readFile).config;

module.exports = tseslint.config(
  { ignores: ["node_modules/**", "coverage/**", ".pulumi-state/**", ".sandbox/**", "*.js"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        // The catch-all config, which holds every file: one TypeScript program for the whole lint
        // (a config per runtime took 55 s and 830 MiB against 35 s and 580). Which types each
        // file may use is `npm run typecheck`'s job.
        project: "./tsconfig.test.json",
        tsconfigRootDir: __dirname,
      },
    },
    plugins: { pulumi },
    rules: {
      "pulumi/no-output-in-template-literal": "error",
      "pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/prefer-nullish-coalescing": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // tsc refuses jest's global names and imports of the test kits in the program (tsconfig.json),
    // but not an explicit import of jest's packages, which resolve from node_modules.
    files: program.include,
    ignores: program.exclude,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["jest", "@jest/*", "ts-jest"], message: "The Pulumi program runs without jest." },
          ],
        },
      ],
    },
  },
);
