import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium, headless, for the browser tests. Playwright gives each launch a fresh
 * temporary profile. Background networking is off because this machine has no internet, and
 * Chromium would retry its lookups many times. `extraArgs` adds flags such as host mappings.
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}
