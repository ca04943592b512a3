// The web gallery in a real browser (Debian's Chromium, driven by
// playwright-core), against a local API that scripts/gallery-test.sh starts
// (AUTH=open, the on-device tagger) and names in BASE_URL.
//
// A visitor signs up from the page and gets a key, makes another, uploads
// two photos through the file input and one by drag and drop, waits for the
// cat's tags, searches "cat", opens the picture, copies its view link, makes
// it private, sees it vanish for a visitor without a key, and deletes it
// (its upload line goes too). Then what a phone's photos need: a portrait at
// its own aspect ratio, formats browsers cannot draw through a rendition,
// the most specific tags on the cards, a colour search that can be widened,
// readable colour labels, and the newest picture first however many there
// are. Screenshots go to GALLERY_OUT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { png } from './png.mjs';

const BASE = process.env.BASE_URL;
const OUT = process.env.GALLERY_OUT || 'target/gallery';
const FIXTURES = new URL('../../tests/fixtures/images/', import.meta.url).pathname;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const TAGGING = 180_000; // the on-device model in a debug build, on a busy machine

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser;

before(async () => {
  assert.ok(BASE, 'BASE_URL names the local API (scripts/gallery-test.sh sets it)');
  mkdirSync(OUT, { recursive: true });
  // launch() gives the browser a new, empty profile (user-data-dir) of its own.
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
});

after(async () => {
  await browser?.close();
});

async function api(path, { key, method = 'GET', json } = {}) {
  const headers = {};
  if (key) headers['x-api-key'] = key;
  if (json) headers['content-type'] = 'application/json';
  return fetch(BASE + path, { method, headers, body: json && JSON.stringify(json) });
}

/** A page that fails the test on any script error or CSP violation. */
async function open(context, problems) {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(30_000);
  return page;
}

const cards = (page) => page.locator('#grid > li');

/** A picture uploaded as the quick start does (JSON, anonymous, public): its body. */
async function post(name, bytes) {
  const r = await api('/images', { method: 'POST', json: { data: Buffer.from(bytes).toString('base64'), name } });
  assert.ok(r.status === 201 || r.status === 200, `${name}: ${r.status}`);
  return r.json();
}

/** The colours of the picture shown: a pie of them, and labels of at least 11 px. */
async function readableColours(page) {
  const pie = page.locator('.pie');
  await pie.waitFor();
  const hexes = await page.locator('.swatches a').allTextContents();
  assert.ok(hexes.length >= 3, `colours: ${hexes}`);
  const drawn = await pie.evaluate((node) => getComputedStyle(node).backgroundImage);
  const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
  assert.match(drawn, /^conic-gradient\(/);
  for (const hex of hexes) assert.ok(drawn.includes(rgb(hex)), `${hex} in the pie: ${drawn}`);
  const box = await pie.boundingBox();
  assert.ok(box.width >= 100 && Math.abs(box.width - box.height) < 1, `the pie: ${JSON.stringify(box)}`);
  const labels = await page.locator('.swatches li').evaluateAll((lis) => lis.map((li) => {
    const rect = li.getBoundingClientRect();
    return { px: parseFloat(getComputedStyle(li).fontSize), link: parseFloat(getComputedStyle(li.querySelector('a')).fontSize), right: rect.right, height: rect.height };
  }));
  const width = page.viewportSize().width;
  for (const label of labels) {
    assert.ok(label.px >= 11 && label.link >= 11, `a colour label of ${label.px}/${label.link} px`);
    assert.ok(label.right <= width && label.height >= 11, `a colour label out of view: ${JSON.stringify(label)}`);
  }
}

async function imagesLoaded(locator) {
  await locator.first().waitFor();
  await locator.evaluateAll((imgs) => Promise.all(imgs.map((img) => (img.complete ? null : new Promise((resolve) => {
    img.addEventListener('load', resolve, { once: true });
    img.addEventListener('error', resolve, { once: true });
  })))));
  return locator.evaluateAll((imgs) => imgs.map((img) => img.naturalWidth));
}

test('the page and its assets come with the Content-Security-Policy', async () => {
  const page = await api('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  for (const file of ['app.js', 'account.js', 'api.js', 'dom.js', 'gallery.js', 'picture.js', 'specific.js', 'upload.js', 'app.css', 'icon.svg', 'tag-breadth.json']) {
    const asset = await api(`/assets/${file}`);
    assert.equal(asset.status, 200, file);
  }
});

test('upload, search, open, make private, hide from visitors, delete', { timeout: 600_000 }, async () => {
  // Other people's public pictures, so that the grid is not empty for a visitor.
  for (const name of ['rocket.jpg', 'motorcycle_left.png', 'astronaut.png', 'camera.png']) {
    const r = await api('/images', { method: 'POST', json: { data: readFileSync(join(FIXTURES, name)).toString('base64'), name } });
    assert.ok(r.status === 201 || r.status === 200, `seed ${name}: ${r.status}`);
  }
  const problems = [];
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await open(context, problems);
  await page.goto(BASE + '/');
  await page.getByText('No key: you browse as a visitor.').waitFor();

  // Signing up from the page: the account's key, shown once, kept, in use.
  const email = `ann-${Date.now()}@example.org`;
  await page.getByText('New here? Get a key').click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByText(`Signed in as ${email}.`).waitFor();
  const key = await page.getByLabel('The new API key').inputValue();
  assert.match(key, /^pk_/);
  assert.equal(await page.evaluate(() => localStorage.getItem('pictures.apiKey')), key);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new-key-value');
  assert.equal((await (await api('/users/me', { key })).json()).email, email);
  await page.getByRole('button', { name: 'Copy the key' }).click();
  await page.getByText('Key copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  // The same address again: refused, said so, nothing changed.
  const again = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const twice = await open(again, problems);
  await twice.goto(BASE + '/');
  await twice.getByText('New here? Get a key').click();
  await twice.getByLabel('Email').fill(email);
  await twice.getByRole('button', { name: 'Create my account' }).click();
  await twice.getByText(/^No account made: .*already exists/).waitFor();
  assert.equal(await twice.evaluate(() => localStorage.getItem('pictures.apiKey')), null);
  await again.close();
  // Another key, for another device: shown once, working, this browser keeping its own.
  assert.equal(await page.locator('#account-summary').textContent(), 'Another key');
  await page.getByLabel('A name for the new key').fill('phone');
  await page.getByRole('button', { name: 'Make a new key' }).click();
  await page.getByText(/^A new key “phone” for another device/).waitFor();
  const second = await page.getByLabel('The new API key').inputValue();
  assert.match(second, /^pk_/);
  assert.notEqual(second, key);
  assert.equal((await api('/users/me', { key: second })).status, 200);
  assert.equal(await page.evaluate(() => localStorage.getItem('pictures.apiKey')), key);

  // A key pasted is kept too.
  await page.getByLabel('API key', { exact: true }).fill(second);
  await page.getByRole('button', { name: 'Use key' }).click();
  await page.getByText(`Signed in as ${email}.`).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('pictures.apiKey')), second);
  assert.ok(await page.getByLabel('The new API key').isHidden(), 'a key is shown once');

  // Two photos through the file input (a keyboard user's way in: it takes focus).
  await page.locator('#file-input').focus();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'file-input');
  await page.setInputFiles('#file-input', [join(FIXTURES, 'chelsea.png'), join(FIXTURES, 'coffee.png')]);
  const cat = page.locator('#uploads > li', { hasText: 'chelsea.png' });
  const coffee = page.locator('#uploads > li', { hasText: 'coffee.png' });
  await cat.locator('.tag-list a', { hasText: /^cat$/ }).waitFor({ timeout: TAGGING });
  await coffee.getByText('tagged', { exact: true }).waitFor({ timeout: TAGGING });
  const catTags = await cat.locator('.tag-list a').allTextContents();
  assert.ok(catTags.includes('cat'), `chelsea's tags: ${catTags}`);
  assert.equal(await cat.locator('progress').evaluate((p) => p.value), 1);
  const said = await page.locator('#announcer').textContent();
  assert.match(said, /chelsea\.png uploaded, tagged .*cat/);
  assert.match(said, /Uploads done: 2 pictures uploaded\./);
  assert.equal(await page.locator('#announcer').getAttribute('aria-live'), 'polite');

  // And one dropped on the page, uploaded in the background (polled while pending).
  await page.getByLabel('Tag in the background').check();
  const logo = readFileSync(join(FIXTURES, 'logo.png')).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'logo.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.querySelector('#drop-zone').dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, logo);
  const dropped = page.locator('#uploads > li', { hasText: 'logo.png' });
  await dropped.locator('.state', { hasText: /^(tagged|uploaded, no tags above the threshold)$/ }).waitFor({ timeout: TAGGING });

  // The grid: every picture, with its thumbnail, newest first (the new ones on top).
  await page.waitForFunction(() => document.querySelectorAll('#grid > li').length === 7);
  const order = (await cards(page).evaluateAll((lis) => lis.map((li) => Number(li.dataset.id))));
  assert.deepEqual(order, [...order].sort((a, b) => b - a), `newest first: ${order}`);
  const mine = await (await api('/images?owner=me', { key })).json();
  assert.deepEqual(order.slice(0, 3), mine.map((p) => p.id).reverse(), 'the three uploads on top');
  assert.deepEqual(await cards(page).first().locator('.card-name').textContent(), 'logo.png');
  const widths = await imagesLoaded(page.locator('#grid img'));
  assert.ok(widths.every((w) => w > 0), `thumbnails: ${widths}`);
  assert.ok((await page.locator('#tag-cloud a').count()) > 3, 'a tag cloud');
  for (const alt of await page.locator('#grid img').evaluateAll((imgs) => imgs.map((i) => i.alt))) assert.ok(alt.length > 3, `alt ${alt}`);
  await page.screenshot({ path: join(OUT, 'grid-desktop.png') });

  // Arrow keys walk the grid.
  await page.locator('#grid .thumb').first().focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.closest('li').dataset.id),
    await page.locator('#grid > li').nth(1).getAttribute('data-id'));

  // Search "cat": the cat alone.
  await page.getByLabel('Tags (comma-separated').fill('cat');
  await page.getByLabel('Tags (comma-separated').press('Enter');
  await page.waitForFunction(() => location.hash === '#/?tags=cat');
  await page.locator('#grid-status', { hasText: /^1 picture$/ }).waitFor();
  assert.equal(await cards(page).count(), 1);
  // The card's text names the picture and its first four tags. `cat`'s
  // classes are a subset of `feline`'s, so `cat` can at best tie with
  // `feline` (99.44 against 99.45 here): either names the cat.
  assert.match(await cards(page).locator('img').getAttribute('alt'), /^chelsea\.png: .*\b(cat|feline)\b/);
  const id = Number(await cards(page).getAttribute('data-id'));

  // Open it.
  await cards(page).locator('.thumb').click();
  await page.getByRole('heading', { name: 'chelsea.png' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'picture-title');
  assert.equal(await page.title(), 'chelsea.png – Pictures');
  const [full] = await imagesLoaded(page.locator('.full img'));
  assert.equal(full, 451);
  await page.locator('#picture-view .tag-list li', { hasText: /^cat\s+\d+(\.\d)?%\s*model$/ }).waitFor();
  await page.getByRole('term').filter({ hasText: 'Dimensions' }).waitFor();
  assert.ok((await page.locator('.swatches li').count()) >= 3, 'dominant colours');
  await readableColours(page);
  // The API's own chart, fetched with the key, saved as a PNG.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the chart (PNG)' }).click()]);
  assert.equal(download.suggestedFilename(), `palette-${id}.png`);
  const chart = readFileSync(await download.path());
  assert.deepEqual([...chart.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  // The original, a download away, as it was uploaded.
  assert.deepEqual(readFileSync(join(FIXTURES, 'chelsea.png')),
    Buffer.from(await (await fetch(BASE + await page.getByRole('link', { name: /^Download the original \(PNG/ }).getAttribute('href'))).arrayBuffer()));
  await page.locator('.similar [role=status]').filter({ hasText: /^$|No similar pictures\./ }).waitFor();
  await page.screenshot({ path: join(OUT, 'picture-desktop.png') });

  // A view link, absolute, that works without a key.
  await page.getByRole('button', { name: 'Copy view link' }).click();
  await page.getByText(/^Link copied; it works until/).waitFor();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(link, new RegExp(`^${BASE}/images/${id}/file\\?expires=\\d+&sig=[0-9a-f]+$`));
  assert.equal((await fetch(link)).status, 200);

  // Private, then gone for a visitor without a key.
  await page.getByLabel('Private (only I can see it)').check();
  await page.getByText('Private now: only you can see it.').waitFor();
  const changed = await (await api(`/images?after=${id - 1}&limit=1`, { key })).json();
  assert.equal(changed[0].private, true);

  const visitor = await browser.newContext({ viewport: PHONE, colorScheme: 'dark', isMobile: true, hasTouch: true });
  const visitorProblems = [];
  const anonymous = await open(visitor, visitorProblems);
  await anonymous.goto(BASE + '/');
  await anonymous.locator('#grid-status', { hasText: /^\d+ pictures$/ }).waitFor();
  assert.equal(await anonymous.locator(`#grid > li[data-id="${id}"]`).count(), 0, 'the private picture is not in the grid');
  assert.equal(await cards(anonymous).count(), 6);
  await imagesLoaded(anonymous.locator('#grid img'));
  await anonymous.screenshot({ path: join(OUT, 'grid-phone-visitor.png') });
  await anonymous.goto(`${BASE}/#/?tags=cat`);
  await anonymous.getByText('No pictures match.').waitFor();
  await anonymous.goto(`${BASE}/#/images/${id}`);
  await anonymous.getByRole('heading', { name: 'Picture not found' }).waitFor();
  // Someone else's public picture: a link to share, nothing to change.
  await anonymous.goto(`${BASE}/#/`);
  await anonymous.locator('#grid img[alt^="coffee.png"]').click();
  await anonymous.getByRole('heading', { name: 'coffee.png' }).waitFor();
  await anonymous.getByRole('button', { name: 'Copy view link' }).waitFor();
  // What the object detector found, boxed where it is: the cup.
  const cup = anonymous.locator('.full .overlay .object-box', { hasText: /^cup \d+%$/ });
  await cup.first().waitFor();
  await imagesLoaded(anonymous.locator('.full img'));
  const frame = await anonymous.locator('.full .overlay').boundingBox();
  const box = await cup.first().boundingBox();
  assert.ok(box.width > 10 && box.height > 10, `the cup's box: ${JSON.stringify(box)}`);
  assert.ok(box.x >= frame.x - 1 && box.y >= frame.y - 1 && box.x + box.width <= frame.x + frame.width + 1
    && box.y + box.height <= frame.y + frame.height + 1, `inside the picture: ${JSON.stringify({ box, frame })}`);
  const label = await anonymous.locator('.full .object-label').first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(label >= 11, `object labels are readable: ${label}px`);
  assert.equal(await anonymous.getByRole('button', { name: 'Delete…' }).count(), 0);
  assert.equal(await anonymous.locator('#private-toggle').count(), 0);
  assert.equal((await api(`/images/${id}/thumbnail?size=256`)).status, 404);
  await visitor.close();

  // The owner still sees it, its thumbnail through a signed URL.
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => location.hash === '#/?tags=cat');
  const thumb = cards(page).locator('img');
  assert.match(await thumb.getAttribute('src'), new RegExp(`^/images/${id}/thumbnail\\?expires=\\d+&sig=[0-9a-f]+&size=256$`));
  assert.ok((await imagesLoaded(thumb))[0] > 0);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'thumb');

  // A phone-sized look at the picture page.
  const phone = await browser.newContext({ viewport: PHONE, colorScheme: 'dark', isMobile: true, hasTouch: true });
  await phone.addInitScript((k) => localStorage.setItem('pictures.apiKey', k), key);
  const small = await open(phone, problems);
  await small.goto(`${BASE}/#/images/${id}`);
  await small.getByRole('heading', { name: 'chelsea.png' }).waitFor();
  await imagesLoaded(small.locator('.full img'));
  await readableColours(small);
  await small.screenshot({ path: join(OUT, 'picture-phone.png') });
  await phone.close();

  // Delete it, after saying yes.
  await cards(page).locator('.thumb').click();
  await page.getByRole('heading', { name: 'chelsea.png' }).waitFor();
  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    dialog.accept();
  });
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.waitForFunction(() => location.hash === '#/?tags=cat');
  assert.match(asked, /Delete “chelsea\.png”/);
  await page.waitForFunction((gone) => !document.querySelector(`#grid > li[data-id="${gone}"]`), id);
  assert.equal((await api(`/images/${id}/file`, { key })).status, 404);
  // Its upload line went with it; the others stay, with their links.
  assert.equal(await page.locator('#uploads > li', { hasText: 'chelsea.png' }).count(), 0);
  assert.equal(await page.locator(`#uploads a[href="#/images/${id}"]`).count(), 0);
  await coffee.locator('a[href^="#/images/"]').waitFor();
  // One deleted elsewhere goes when its link finds nothing.
  const coffeeLink = await coffee.locator('.file a').getAttribute('href');
  assert.equal((await api(coffeeLink.replace('#/images/', '/images/'), { key, method: 'DELETE' })).status, 204);
  await coffee.locator('.file a').click();
  await page.getByRole('heading', { name: 'Picture not found' }).waitFor();
  assert.equal(await page.locator('#uploads > li', { hasText: 'coffee.png' }).count(), 0);
  await page.goBack();
  await page.getByRole('button', { name: 'Clear finished uploads' }).click();
  assert.equal(await page.locator('#uploads > li').count(), 0);

  await context.close();
  assert.deepEqual(problems, []);
  assert.deepEqual(visitorProblems, []);
});

test('a portrait at its own aspect ratio, and TIFF, HEIC and AVIF through a rendition', { timeout: 300_000 }, async () => {
  // 683x1024, as a phone's portrait scaled down: a gradient, so squashing would show.
  const portrait = await post('portrait.png', png(683, 1024, (x, y) => [Math.round((x * 255) / 682), Math.round((y * 255) / 1023), 128]));
  assert.deepEqual([portrait.width, portrait.height], [683, 1024]);
  const tiffBytes = readFileSync(join(FIXTURES, 'multipage_rgb.tif'));
  const tiff = await post('multipage_rgb.tif', tiffBytes);
  assert.equal(tiff.format, 'tiff');

  const problems = [];
  for (const [name, viewport, extra] of [['desktop', DESKTOP, {}], ['phone', PHONE, { isMobile: true, hasTouch: true }]]) {
    const context = await browser.newContext({ viewport, colorScheme: 'light', ...extra });
    const page = await open(context, problems);

    const shown = async (picture, src) => {
      await page.goto(`${BASE}/#/images/${picture.id}`);
      await page.getByRole('heading', { name: picture.name }).waitFor();
      const [natural] = await imagesLoaded(page.locator('.full img'));
      assert.ok(natural > 0, `${picture.name} is drawn (${name})`);
      assert.match(await page.locator('.full img').getAttribute('src'), src);
      const box = await page.locator('.full img').boundingBox();
      const ratio = picture.width / picture.height;
      assert.ok(Math.abs(box.width / box.height - ratio) < 0.01, `${picture.name} at ${box.width}x${box.height}, not ${ratio} (${name})`);
      assert.ok(box.height <= viewport.height * 0.8 + 1 && box.width <= Math.min(picture.width, viewport.width) + 0.5, `${picture.name}: ${JSON.stringify(box)} (${name})`);
      // The layer for marks drawn on the picture lies exactly over it.
      const layer = await page.locator('.full .overlay').boundingBox();
      for (const side of ['x', 'y', 'width', 'height']) assert.ok(Math.abs(layer[side] - box[side]) < 1, `overlay ${side} (${name})`);
      return box;
    };

    // The portrait: the original, as tall as fits, as wide as its ratio says.
    const box = await shown(portrait, /\/images\/\d+\/file\?expires=/);
    if (name === 'desktop') assert.ok(Math.abs(box.height - DESKTOP.height * 0.8) < 1, `capped by the height: ${box.height}`);
    else assert.ok(box.width > PHONE.width * 0.8, `as wide as the phone allows: ${box.width}`);
    await page.getByRole('link', { name: /^Download the original \(PNG/ }).waitFor();
    await page.screenshot({ path: join(OUT, `portrait-${name}.png`), fullPage: true });

    // The TIFF: its 1024-pixel rendition, the original still a download away.
    await shown(tiff, new RegExp(`^/images/${tiff.id}/thumbnail\\?size=1024$`));
    await page.getByText('browsers cannot draw TIFF files').waitFor();
    const original = page.getByRole('link', { name: /^Download the original \(TIFF/ });
    assert.equal(await original.getAttribute('download'), 'multipage_rgb.tif');
    const file = await fetch(BASE + await original.getAttribute('href'));
    assert.equal(file.headers.get('content-type'), 'image/tiff');
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), tiffBytes);
    await page.screenshot({ path: join(OUT, `tiff-${name}.png`) });

    // HEIC and AVIF are decided the same way, by the picture's `format`: the
    // portrait, as the API would list a phone's HEIC or AVIF photo.
    for (const format of ['heic', 'avif']) {
      const itself = (url) => url.pathname === '/images' && url.searchParams.get('after') === String(portrait.id - 1);
      await page.route(itself, async (route) => {
        const response = await route.fetch();
        const [listed] = await response.json();
        await route.fulfill({ response, json: [{ ...listed, format }] });
      });
      await page.goto(`${BASE}/#/`);
      await shown(portrait, new RegExp(`^/images/${portrait.id}/thumbnail\\?size=1024$`));
      await page.getByText(`browsers cannot draw ${format.toUpperCase()} files`).waitFor();
      await page.getByRole('link', { name: new RegExp(`^Download the original \\(${format.toUpperCase()}`) }).waitFor();
      await page.unrouteAll();
    }
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('a HEIC photo dropped on the page is uploaded, tagged and shown upright through its rendition', { timeout: 300_000 }, async () => {
  const problems = [];
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  const page = await open(context, problems);
  await page.goto(`${BASE}/#/`);
  await page.locator('#drop-zone').waitFor();
  const heic = readFileSync(join(FIXTURES, '../phone/iphone.heic')).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'IMG_0001.HEIC', { type: 'image/heic' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.querySelector('#drop-zone').dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, heic);
  const line = page.locator('#uploads > li', { hasText: 'IMG_0001.HEIC' });
  // A cat photo, tagged from its pixels.
  await line.locator('.tag-list a', { hasText: /^cat$/ }).waitFor({ timeout: TAGGING });
  await line.locator('a[href^="#/images/"]').first().click();
  await page.getByRole('heading', { name: 'IMG_0001.HEIC' }).waitFor();
  const img = page.locator('.full img');
  assert.match(await img.getAttribute('src'), /\/images\/\d+\/thumbnail\?size=1024$/);
  const [natural] = await imagesLoaded(img);
  assert.ok(natural > 0, 'the rendition is drawn');
  // Stored turned a quarter (EXIF and HEIF rotation): shown upright, landscape.
  const { w, h } = await img.evaluate((e) => ({ w: e.naturalWidth, h: e.naturalHeight }));
  assert.ok(w > h, `upright: ${w}x${h}`);
  await page.getByText('browsers cannot draw HEIC files').waitFor();
  await page.getByRole('link', { name: /^Download the original \(HEIC/ }).waitFor();
  await page.screenshot({ path: join(OUT, 'heic-desktop.png') });
  await context.close();
  assert.deepEqual(problems, []);
});

test('cards show the name and the most specific tags', { timeout: 300_000 }, async () => {
  const tagged = await post('chelsea.png', readFileSync(join(FIXTURES, 'chelsea.png')));
  const vocabulary = await (await api('/assets/tag-breadth.json')).json();
  const breadth = vocabulary.breadth;
  assert.ok(breadth.cat < breadth.feline && breadth.feline < breadth.carnivore && breadth.carnivore < breadth.mammal && breadth.mammal < breadth.animal, 'WordNet order');
  assert.ok(Object.values(breadth).every((n) => n >= 1 && n <= vocabulary.classes));
  const rank = (t) => (t.source === 'user' ? 0 : breadth[t.tag] ?? 1);
  // The cat's tags, most confident first, start with the general ones.
  assert.ok(tagged.tags.some((t) => t.tag === 'cat'), `chelsea: ${tagged.tags.map((t) => t.tag)}`);

  const problems = [];
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const page = await open(context, problems);
  await page.goto(BASE + '/');
  await page.locator('#grid-status', { hasText: /^\d+ pictures/ }).waitFor();
  const listed = new Map((await (await api('/images?limit=1000')).json()).map((p) => [p.id, p]));
  const shownCards = await cards(page).evaluateAll((lis) => lis.map((li) => ({
    id: Number(li.dataset.id),
    name: li.querySelector('.card-name').textContent,
    tags: [...li.querySelectorAll('.card-tags .tag')].map((a) => a.textContent),
  })));
  assert.ok(shownCards.length >= 5);
  for (const card of shownCards) {
    const picture = listed.get(card.id);
    assert.equal(card.name, picture.name || `Picture ${picture.id}`);
    assert.equal(card.tags.length, Math.min(3, picture.tags.length), `${card.name}: ${card.tags}`);
    const shown = picture.tags.filter((t) => card.tags.includes(t.tag));
    assert.equal(shown.length, card.tags.length, `${card.name}: ${card.tags} are its tags`);
    const broadest = Math.max(...shown.map(rank));
    for (const t of picture.tags.filter((t) => !card.tags.includes(t.tag))) {
      assert.ok(rank(t) >= broadest, `${card.name}: ${t.tag} (${rank(t)}) is more specific than one shown (${card.tags})`);
    }
  }
  const cat = shownCards.find((c) => c.id === tagged.id);
  assert.ok(cat, 'the cat is on the first page');
  for (const general of ['animal', 'mammal', 'carnivore']) assert.ok(!cat.tags.includes(general), `the cat's card: ${cat.tags}`);
  assert.ok(cat.tags.some((t) => breadth[t] <= breadth.cat), `the cat's card names the cat: ${cat.tags}`);
  assert.match(await page.locator(`#grid > li[data-id="${tagged.id}"] img`).getAttribute('alt'), /^chelsea\.png: .*\bcat\b/);
  await page.screenshot({ path: join(OUT, 'cards-phone.png') });
  await context.close();
  assert.deepEqual(problems, []);
});

test('a colour search can be widened until it finds a photo', { timeout: 300_000 }, async () => {
  // Mostly #b86534 (a tenth blue): 88 from #ff6600 in RGB, beyond the default 48.
  const rust = await post('rust.png', png(120, 80, (x) => (x < 108 ? [0xb8, 0x65, 0x34] : [0x20, 0x40, 0xa0])));
  assert.ok(rust.colors.some((c) => c.hex === '#b86534'), `rust's colours: ${rust.colors.map((c) => c.hex)}`);

  const problems = [];
  for (const [name, viewport, extra] of [['desktop', DESKTOP, {}], ['phone', PHONE, { isMobile: true, hasTouch: true }]]) {
    const context = await browser.newContext({ viewport, ...extra });
    const page = await open(context, problems);
    await page.goto(BASE + '/');
    await page.locator('#grid-status', { hasText: /^\d+ pictures/ }).waitFor();
    await page.getByText('Name, dates, colour').click();
    await page.getByLabel('Colour to search for').fill('#ff6600');
    assert.ok(await page.getByLabel('Near colour').isChecked(), 'choosing a colour asks for it');
    assert.equal(await page.getByLabel('How near').inputValue(), '48');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction(() => location.hash === '#/?color=%23ff6600');
    await page.locator('#grid-status', { hasText: /^(No pictures match\.|\d+ pictures?)$/ }).waitFor();
    assert.equal(await page.locator(`#grid > li[data-id="${rust.id}"]`).count(), 0, `near #ff6600 (${name})`);

    await page.getByLabel('How near').selectOption({ label: 'Similar' });
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction(() => location.hash === '#/?color=%23ff6600&color_distance=96');
    await page.locator(`#grid > li[data-id="${rust.id}"]`).waitFor();
    await page.getByText('Pictures coloured near #ff6600 (similar)').waitFor();
    await page.screenshot({ path: join(OUT, `colour-${name}.png`) });
    // The address keeps the tolerance.
    await page.reload();
    await page.locator(`#grid > li[data-id="${rust.id}"]`).waitFor();
    assert.equal(await page.getByLabel('How near').inputValue(), '96');
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('newest first: after more than a page, a new upload is the first card', { timeout: 600_000 }, async () => {
  // Over a page (100) of distinct small pictures, 50 to a form as a folder import sends them.
  const before = (await (await api('/images?limit=1000')).json()).length;
  for (let start = 0; start < 101; start += 50) {
    const form = new FormData();
    for (let i = start; i < Math.min(start + 50, 101); i++) {
      form.append('image_files', new Blob([png(16, 16, (x, y) => [i, x * 16, y * 16])], { type: 'image/png' }), `roll-${i}.png`);
    }
    const r = await fetch(`${BASE}/images`, { method: 'POST', body: form });
    const body = await r.json();
    assert.equal(r.status, 200);
    assert.deepEqual(body.errors, {});
  }
  const all = (await (await api('/images?limit=1000')).json()).map((p) => p.id);
  assert.equal(all.length, before + 101);
  const newest = Math.max(...all);

  const problems = [];
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await open(context, problems);
  await page.goto(BASE + '/');
  await page.locator('#grid-status', { hasText: /pictures, more below$/ }).waitFor();
  assert.equal(Number(await cards(page).first().getAttribute('data-id')), newest);
  assert.equal(await cards(page).first().locator('.card-name').textContent(), 'roll-100.png');

  // One more, from the page: on top at once, however long the grid.
  await page.setInputFiles('#file-input', { name: 'latest.png', mimeType: 'image/png', buffer: png(24, 24, (x, y) => [200, x * 10, y * 10]) });
  await page.locator('#uploads > li', { hasText: 'latest.png' }).locator('.state', { hasText: /^(tagged|uploaded, no tags above the threshold)$/ }).waitFor({ timeout: TAGGING });
  await page.waitForFunction(() => document.querySelector('#grid > li .card-name')?.textContent === 'latest.png');
  await page.screenshot({ path: join(OUT, 'newest-desktop.png') });

  // Scrolling down pages through the rest, each picture once, newest to oldest.
  for (let pages = 0; pages < 10 && await page.locator('#more').isVisible(); pages++) {
    await page.locator('#more').click({ timeout: 5_000 }).catch(() => {}); // gone meanwhile: the scroll loaded it
    await page.waitForFunction(() => !document.querySelector('#grid-status').textContent.startsWith('Loading'));
  }
  await page.locator('#grid-status', { hasText: /^\d+ pictures$/ }).waitFor();
  const ids = await cards(page).evaluateAll((lis) => lis.map((li) => Number(li.dataset.id)));
  const everything = (await (await api('/images?limit=1000')).json()).map((p) => p.id);
  assert.deepEqual(ids, everything.reverse());
  await context.close();
  assert.deepEqual(problems, []);
});
