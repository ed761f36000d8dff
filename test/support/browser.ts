/**
 * Headless Chromium (Debian's `chromium`, or CHROMIUM_PATH) driven by playwright-core: how the
 * workspace pages are tested as a person sees them. No browser download: the machine's own.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export async function launchChromium(): Promise<Browser> {
  const executablePath = CANDIDATES.find((candidate) => candidate && existsSync(candidate));
  if (!executablePath) {
    throw new Error(
      'Chromium is not installed: run "apt-get install chromium" (Debian) or set CHROMIUM_PATH (see README.md)',
    );
  }
  return chromium.launch({
    executablePath,
    // Root in a container has no sandbox; the rest keeps Chromium off a network it does not have.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
