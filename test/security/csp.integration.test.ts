/// <reference lib="dom" />
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../app/config';
import { startServer, type RunningServer } from '../../app/server';
import { productionEnv } from '../support/app';
import { uniqueName } from '../support/browser-like';
import { launchChromium } from '../support/chromium';

// The attack the CSP must stop: markup injected into a wiki page (any future XSS bug) that loads
// a user's uploaded text file as a script. Uploads are served from S3's origin, which the policy
// allows for images only. Debian's chromium, the production server and the integration services.

let running: RunningServer;
let browser: Browser;

beforeAll(async () => {
  running = await startServer(
    loadConfig(productionEnv({ AWS_EC2_METADATA_DISABLED: 'true', INSTANCE_ID: '', INSTANCE_AZ: '', LOG_LEVEL: 'warn' })),
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await running?.shutdown('tests done');
});

async function signUpAndWritePage(page: Page, slug: string) {
  await page.goto(`${running.url}/signup`);
  await page.fill('#username', uniqueName('csp').slice(0, 32));
  await page.fill('#password', 'a long enough password');
  await Promise.all([page.waitForURL(/\/wiki\/Home$/), page.click('form.account-form button[type=submit]')]);
  await page.goto(`${running.url}/wiki/${slug}/edit`);
  await page.fill('#body', 'A page with an attachment.');
  await Promise.all([page.waitForURL(new RegExp(`/wiki/${slug}$`)), page.click('form.editor button[type=submit]')]);
}

/** Adds <script src> to the page as injected markup would, and reports whether it loaded. */
function injectScript(page: Page, src: string): Promise<'loaded' | 'blocked'> {
  return page.evaluate(
    (url) =>
      new Promise<'loaded' | 'blocked'>((resolve) => {
        const script = document.createElement('script');
        script.src = url;
        script.onload = () => resolve('loaded');
        script.onerror = () => resolve('blocked');
        document.head.append(script);
      }),
    src,
  );
}

test('when a page tries to run an uploaded text file as a script, then the browser refuses it', async () => {
  const page = await browser.newPage();
  try {
    const slug = uniqueName('Csp');
    await signUpAndWritePage(page, slug);
    await page.setInputFiles('form.upload input[type=file]', {
      name: 'payload.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from("window.pwned = 'uploaded script ran';\n"),
    });
    await Promise.all([page.waitForURL(new RegExp(`/wiki/${slug}$`)), page.click('form.upload button[type=submit]')]);

    // The signed S3 link the app redirects to, fetched with the person's cookies.
    const cookies = (await page.context().cookies()).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
    const uploadPath = (await page.getAttribute('.attachments a', 'href'))!;
    const redirect = await fetch(`${running.url}${uploadPath}`, { headers: { cookie: cookies }, redirect: 'manual' });
    const uploadUrl = redirect.headers.get('location')!;
    expect(new URL(uploadUrl).origin).not.toBe(new URL(running.url).origin);

    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { violations: string[] }).violations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
    });
    // The way of injecting works: the app's own script loads.
    const ownScript = (await page.getAttribute('script[src]', 'src'))!;
    expect(await injectScript(page, ownScript)).toBe('loaded');

    expect(await injectScript(page, uploadUrl)).toBe('blocked');
    expect(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned)).toBeUndefined();
    const violations = await page.evaluate(() => (window as unknown as { violations: string[] }).violations);
    expect(violations).toEqual([expect.stringMatching(new RegExp(`^script-src(-elem)? ${new URL(uploadUrl).origin}`))]);
  } finally {
    await page.close();
  }
});
