import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/** The app a file belongs to (`apps/<name>/…`), or null outside apps/. */
const appOf = (file) => {
  const [top, name] = path.relative(root, file).split(path.sep);
  return top === 'apps' && name ? name : null;
};

/**
 * Apps import libraries, never each other: what two apps share belongs in libs/. Tests of one app
 * reach another only through test/support, the shared test harness.
 */
const noCrossAppImports = {
  meta: {
    type: 'problem',
    messages: { crossApp: 'apps/{{from}} imports apps/{{to}}: move what they share into libs/.' },
  },
  create(context) {
    const from = appOf(context.filename);
    if (!from) return {};
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = appOf(path.resolve(path.dirname(context.filename), source));
      if (to && to !== from) context.report({ node: node.source, messageId: 'crossApp', data: { from, to } });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  ...tseslint.configs.recommended,
  // What matters in async code needs the types: a promise nobody awaits, or one passed where a
  // plain callback is expected, loses its failure.
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    plugins: { ledger: { rules: { 'no-cross-app-imports': noCrossAppImports } } },
    rules: {
      'ledger/no-cross-app-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='parseFloat']", message: 'Money is never a float.' },
      ],
    },
  },
  {
    files: ['libs/ledger/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', 'pg', 'kysely', 'node:*', 'fs', 'crypto', '@ledger/*'],
              message: 'The domain is pure.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'The domain has no clock.' },
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'The domain has no clock.' },
        { selector: "CallExpression[callee.name='parseFloat']", message: 'Money is never a float.' },
      ],
    },
  },
);
