/// <reference lib="dom" />
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../app/config';
import { startServer, type RunningServer } from '../../app/server';
import { productionEnv } from '../support/app';
import { uniqueName } from '../support/browser-like';
import { launchChromium } from '../support/chromium';

// A real browser (Debian's chromium) against the production server on the integration services.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

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

async function signUp(page: Page) {
  await page.goto(`${running.url}/signup`);
  await page.fill('#username', uniqueName('e2e').slice(0, 32));
  await page.fill('#password', 'a long enough password');
  await Promise.all([page.waitForURL(/\/wiki\/Home$/), page.click('form.account-form button[type=submit]')]);
}

async function writePage(page: Page, slug: string, text: string) {
  await page.goto(`${running.url}/wiki/${slug}/edit`);
  await page.fill('#body', text);
  await Promise.all([page.waitForURL(new RegExp(`/wiki/${slug}$`)), page.click('form.editor button[type=submit]')]);
}

test('when a person signs up, edits a page and attaches an image, then they see it rendered', async () => {
  const page = await browser.newPage();
  try {
    await signUp(page);
    const slug = uniqueName('Browser');
    await writePage(page, slug, '# Hello from a browser\n\nThis page was written by **playwright**.');
    await page.waitForSelector('.content h1');
    expect(await page.textContent('.content h1')).toBe('Hello from a browser');
    expect(await page.textContent('.served-by')).toMatch(/\S+\/\S+/);

    await page.setInputFiles('form.upload input[type=file]', { name: 'pixel.png', mimeType: 'image/png', buffer: png });
    await Promise.all([page.waitForURL(new RegExp(`/wiki/${slug}$`)), page.click('form.upload button[type=submit]')]);
    const imageMarkdown = (await page.textContent('.attachments code'))!.trim();
    expect(imageMarkdown).toMatch(/^!\[pixel\.png\]\(\/uploads\/[0-9a-f-]+\.png\)$/);

    await writePage(page, slug, `# Hello from a browser\n\n${imageMarkdown}`);
    const image = await page.waitForSelector('.content img');
    await page.waitForFunction((element) => (element as HTMLImageElement).complete, image);
    expect(await image.evaluate((element) => (element as HTMLImageElement).naturalWidth)).toBe(1);
  } finally {
    await page.close();
  }
});

test("when a page holds hostile markup, then none of its script runs in the reader's browser", async () => {
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  try {
    await signUp(page);
    const slug = uniqueName('Hostile');
    await writePage(
      page,
      slug,
      [
        '<script>window.pwned = "script"; alert("script")</script>',
        '<img src="x" onerror="window.pwned = \'onerror\'; alert(\'onerror\')">',
        '<svg onload="window.pwned = \'svg\'"></svg>',
        '[click me](javascript:window.pwned="link";alert("link"))',
        '[[Page" onmouseover="window.pwned=1]]',
      ].join('\n\n'),
    );
    await page.waitForSelector('.content');
    const link = await page.$('.content a');
    if (link) await link.hover();
    await page.click('.content p').catch(() => undefined);
    await page.waitForLoadState('networkidle');
    expect(await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.textContent('.content')).toContain('<script>window.pwned');
  } finally {
    await page.close();
  }
});

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

// The attack the CSP must stop: markup injected into a page (any future XSS bug) that loads a
// user's uploaded text file as a script from the uploads origin, which may serve images only.
test('when a page tries to run an uploaded text file as a script, then the browser refuses it', async () => {
  const page = await browser.newPage();
  try {
    const slug = uniqueName('Csp');
    await signUp(page);
    await writePage(page, slug, 'A page with an attachment.');
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
