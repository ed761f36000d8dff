/**
 * The HTML every workspace page starts as: a landmark-complete document that loads the bundled
 * pages, which then read the query API. Without the bundle it says how to build it.
 */
export const workspacePages = {
  billing: { title: 'Billing overview' },
  usage: { title: 'Usage ledger' },
} as const;
export type WorkspacePage = keyof typeof workspacePages;

export function pageShell(page: WorkspacePage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${workspacePages[page].title} · Credit ledger</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/workspace/assets/workspace.css">
<script type="module" src="/workspace/assets/workspace.js"></script>
</head>
<body>
<div id="workspace" data-page="${page}"><noscript>The workspace pages need JavaScript: they read the ledger's query API from your browser.</noscript></div>
</body>
</html>
`;
}
