// @ts-check
// `npm run lint`, part of `npm test`: correctness rules with type information (a promise
// nobody waits for or catches, an `any` leaking out of a parse, a method torn off its object),
// not formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'data/**', 'console/**', 'scripts/**', 'bin/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The metadata stores, shard-store links and handlers implement async interfaces whose
      // other implementations wait (PostgreSQL, the network): an async method that happens
      // not to await is by design, and callers treat every implementation alike.
      '@typescript-eslint/require-await': 'off',
      // Koa's next() and pg's rows are `any` in those libraries' own types; the functions that
      // return them declare what they return, which is where the type is checked.
      '@typescript-eslint/no-unsafe-return': 'off',
      // Columns of SQLite and PostgreSQL rows are `unknown`: String(row.x) is their conversion.
      '@typescript-eslint/no-base-to-string': 'off',
      // A `let` assigned once after closures that read it (a forward reference) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Passing on a reason as it came (an abort signal's, a caught one) is not inventing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `_name` marks what is unused on purpose (a rest sibling left out, an argument a signature needs).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read JSON, XML and SQL rows loosely to assert on them, and throw from generators on purpose.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Columns of SQLite and PostgreSQL rows are `unknown`: String(row.x) is their conversion.
      '@typescript-eslint/no-base-to-string': 'off',
      // A `let` assigned once after closures that read it (a forward reference) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Passing on a reason as it came (an abort signal's, a caught one) is not inventing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'require-yield': 'off',
    },
  },
);
