import { Controller, Get, Header, Inject, Param, Redirect, Res } from '@nestjs/common';
import type { WorkspaceSettings } from '@ledger/contract';
import { reject } from '@ledger/domain';
import { workspaceAssetsDir } from '@ledger/platform';
import type { FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { DEMO_WORKSPACE } from '../infrastructure/tokens';
import { sendAsset } from './asset-file';
import { DEMO_ACCOUNT, DEMO_READER_KEY, EMPTY_DEMO_ACCOUNT, type DemoWorkspace } from './demo-workspace';
import { pageShell } from './page-shell';

/** What the bundle holds; nothing else under /workspace/assets is served. */
const ASSETS: Record<string, string> = {
  'workspace.js': 'text/javascript; charset=utf-8',
  'workspace.js.map': 'application/json; charset=utf-8',
  'workspace.css': 'text/css; charset=utf-8',
  'workspace.css.map': 'application/json; charset=utf-8',
  // The licences of what the bundle holds (uPlot's): the bundle's last line points to it.
  'workspace.js.LEGAL.txt': 'text/plain; charset=utf-8',
};

/** The pages read only the query API, from this origin: nothing inline, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The dashboards: /workspace/billing and /workspace/usage, and what they load. */
@Controller()
export class WorkspaceController {
  constructor(@Inject(DEMO_WORKSPACE) private readonly demo: DemoWorkspace | null) {}

  @Get()
  @Redirect('/workspace/billing', 302)
  home(): void {}

  @Get('workspace')
  @Redirect('/workspace/billing', 302)
  workspace(): void {}

  @Get('workspace/billing')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  @Header('Cache-Control', 'no-cache')
  billing(): string {
    return pageShell('billing');
  }

  @Get('workspace/usage')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  @Header('Cache-Control', 'no-cache')
  usage(): string {
    return pageShell('usage');
  }

  /** Where the demo lives, and the public key that reads it; null when LEDGER_DEMO is off. */
  @Get('workspace/config.json')
  @Header('Cache-Control', 'no-cache')
  settings(): WorkspaceSettings {
    return {
      demo: this.demo && {
        accountId: DEMO_ACCOUNT,
        emptyAccountId: EMPTY_DEMO_ACCOUNT,
        readerKey: DEMO_READER_KEY,
        seededAt: this.demo.seededAt,
      },
    };
  }

  @Get('workspace/assets/:file')
  async asset(@Param('file') file: string, @Res() reply: FastifyReply): Promise<void> {
    const type = ASSETS[file];
    const location = path.join(workspaceAssetsDir(), file);
    if (!type) throw new LedgerHttpError(reject('route_not_found', `there is no workspace asset "${file}"`));
    if (!existsSync(location)) {
      throw new LedgerHttpError(
        reject('route_not_found', `the workspace pages are not built: run "npm run build" (missing ${file})`),
      );
    }
    await sendAsset(reply, location, type);
  }
}
