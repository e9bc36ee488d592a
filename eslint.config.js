// Flat config: typescript-eslint's recommended, type-aware rules over src, test and bin.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import architecture from './eslint/architecture.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'bench/results/**', '.delta/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use string-literal unions or as-const tables.' }],
    },
  },
  {
    // CommonJS change files (migrate-mongo style) and scripts.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', exports: 'writable', __dirname: 'readonly' } },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['commander', 'chalk', 'ora'].map((name) => ({ name, message: 'Only src/cli/ may import CLI libraries.' })) }],
      'no-console': 'error',
    },
  },
  {
    // Which folder may import which, and no import cycles (eslint/architecture.js, docs/architecture.md).
    files: ['src/**/*.ts'],
    plugins: { delta: architecture },
    rules: { 'delta/layers': 'error', 'delta/no-cycles': 'error' },
  },
);
