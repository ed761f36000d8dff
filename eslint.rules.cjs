/* global module, require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, so jest can load the rule to test it */
const path = require('node:path');

const root = __dirname;

/** The app a file belongs to (`apps/<name>/…`), or null outside apps/. */
const appOf = (file) => {
  const [top, name] = path.relative(root, file).split(path.sep);
  return top === 'apps' && name ? name : null;
};

/**
 * Apps import libraries, never each other: what two apps share belongs in libs/. Tests of one app
 * reach another only through test/support, the shared test harness.
 */
module.exports = {
  meta: {
    type: 'problem',
    messages: { crossApp: 'apps/{{from}} imports apps/{{to}}: move what they share into libs/.' },
  },
  create(context) {
    const from = appOf(context.filename);
    if (!from) return {};
    const check = (node) => {
      const source = node.source && node.source.value;
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
