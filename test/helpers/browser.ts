import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: the page tests never download a browser (.ci/run installs it when missing). */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Launches headless Chromium for a page test. Without the networking flags it waits on
 * background requests a closed network never answers.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath}: install it with "apt-get install -y chromium" (.ci/run does so when it is missing)`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
