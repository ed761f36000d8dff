import { escapeControls } from '../src/audit/io';

it('shows control characters as escapes, so a stored reason cannot drive the auditor’s terminal', () => {
  expect(escapeControls('fail\u001b]0;owned\u0007\u001b[2J')).toBe('fail\\u001B]0;owned\\u0007\\u001B[2J');
  expect(escapeControls('plain text, ünïcode')).toBe('plain text, ünïcode');
});
