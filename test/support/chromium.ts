import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

// Debian's headless Chromium for page tests (never a downloaded browser). Locally without it the
// page tests skip; in CI (CI=true) they must run, so there a missing browser fails the file.

const CHROMIUM = '/usr/bin/chromium';

export const hasChromium = existsSync(CHROMIUM);

if (!hasChromium && process.env.CI === 'true') {
  throw new Error('the page tests need chromium (apt-get install chromium)');
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps dialling out, which this closed
    // network refuses.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
