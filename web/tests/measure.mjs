// Figures of the gallery, measured against a running local API (AUTH=open)
// named in BASE_URL; not part of the test run:
//
//   BASE_URL=http://127.0.0.1:8080 node web/tests/measure.mjs
//
// 1. seeds the service up to SEED (1,000) pictures: distinct 64x64 PNGs,
//    50 to a multipart upload (SEED_ONLY=1 stops there);
// 2. the time to make one 256-pixel thumbnail: the first request of a
//    picture's thumbnail (made and stored) against the second (read back),
//    for fresh copies of the fixture photos and a 4000x3000 JPEG;
// 3. the grid page's weight: HTML, CSS, JS, the first page of GET /images
//    and GET /tags, and the first 100 thumbnails;
// 4. first paint of the gallery with its thumbnails cached: a page loaded
//    once, then reloaded; first contentful paint, largest contentful paint,
//    and when the first 100 cards and the thumbnails in view are shown.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { png } from './png.mjs';

const BASE = process.env.BASE_URL || 'http://127.0.0.1:8080';
const SEED = Number(process.env.SEED || 1000);
const FIXTURES = new URL('../../tests/fixtures/images/', import.meta.url).pathname;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const ms = (n) => `${n.toFixed(0)} ms`;

/** Picture i: a gradient of two colours, its number in the first pixel. */
function seedImage(i) {
  const a = [(i * 37) % 256, (i * 91) % 256, (i * 53) % 256];
  const b = [(i * 11) % 256, 255 - ((i * 29) % 256), (i * 7) % 256];
  return png(64, 64, (x, y) => (x + y === 0 ? [i & 255, i >> 8, 0] : a.map((c, k) => Math.round(c + ((b[k] - c) * (x + y)) / 126))));
}

async function count() {
  let n = 0;
  for (let url = '/images?limit=1000'; url;) {
    const r = await fetch(BASE + url);
    n += (await r.json()).length;
    url = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') || '')?.[1];
  }
  return n;
}

async function upload(files) {
  const form = new FormData();
  for (const [name, bytes, type] of files) form.append('image_files', new Blob([bytes], { type }), name);
  const r = await fetch(`${BASE}/images`, { method: 'POST', body: form });
  const body = await r.json();
  if (r.status !== 200 || Object.keys(body.errors).length) throw new Error(`upload: ${r.status} ${JSON.stringify(body)}`);
  return body.ids;
}

async function seed() {
  const have = await count();
  const started = Date.now();
  for (let i = have; i < SEED; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(i + 50, SEED); j++) batch.push([`seed-${j}.png`, seedImage(j), 'image/png']);
    await upload(batch);
  }
  const n = await count();
  console.log(`pictures: ${n} (${n - have} seeded in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

/** Fresh copies of the fixture photos, and a 4000x3000 JPEG of one of
 * them with grain: each with a random pixel, so that no earlier run has
 * made their thumbnails (the service keeps one picture per content). */
async function photos(browser) {
  const page = await browser.newPage();
  const names = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg', 'motorcycle_left.png', 'camera.png', 'logo.png'];
  const out = [];
  for (const [name, width, height] of [...names.map((n) => [n]), ['coffee.png', 4000, 3000]]) {
    const type = name.endsWith('.jpg') || width ? 'image/jpeg' : 'image/png';
    const b64 = await page.evaluate(async ({ data, type, width, height }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const canvas = new OffscreenCanvas(width || img.naturalWidth, height || img.naturalHeight);
      const g = canvas.getContext('2d');
      g.drawImage(img, 0, 0, canvas.width, canvas.height);
      if (width) {
        const pixels = g.getImageData(0, 0, width, height);
        for (let i = 0; i < pixels.data.length; i += 4) pixels.data[i] ^= (i * 2654435761) >>> 29;
        g.putImageData(pixels, 0, 0);
      }
      g.fillStyle = `rgb(${Math.random() * 255}, ${Math.random() * 255}, ${Math.random() * 255})`;
      g.fillRect(0, 0, 1, 1);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type, quality: 0.85 })).arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    }, { data: readFileSync(join(FIXTURES, name)).toString('base64'), type, width, height });
    out.push([width ? `photo-${width}x${height}.jpg` : name, Buffer.from(b64, 'base64'), type]);
  }
  await page.close();
  return out;
}

async function thumbnailTimes(browser) {
  const files = await photos(browser);
  const ids = await upload(files);
  const sizes = [];
  console.log('thumbnail ?size=256: first request (made and stored) / second (read back), size');
  for (const [name, bytes] of files) {
    const url = `${BASE}/images/${ids[name]}/thumbnail?size=256`;
    const t0 = performance.now();
    const made = (await (await fetch(url)).arrayBuffer()).byteLength;
    const t1 = performance.now();
    await (await fetch(url)).arrayBuffer();
    const t2 = performance.now();
    if (!name.startsWith('photo-')) sizes.push(made);
    console.log(`  ${name} (${kb(bytes.length)}): ${ms(t1 - t0)} / ${ms(t2 - t1)}, ${kb(made)}`);
  }
  return sizes.reduce((a, b) => a + b, 0) / sizes.length;
}

async function pageWeight(browser, photoThumb) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/`, { waitUntil: 'networkidle' });
  // What the page downloaded, by the browser's own Resource Timing.
  const loaded = await page.evaluate(() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
    .map((e) => ({ path: new URL(e.name).pathname, bytes: e.encodedBodySize })));
  const bytes = { page: 0, api: 0, inView: 0 };
  for (const { path, bytes: n } of loaded) {
    if (path === '/' || path.startsWith('/assets/')) bytes.page += n;
    else if (path.endsWith('/thumbnail')) bytes.inView += n;
    else bytes.api += n;
  }
  const srcs = await page.locator('#grid img').evaluateAll((imgs) => imgs.slice(0, 100).map((i) => i.src));
  let thumbs = 0;
  for (const src of srcs) thumbs += (await (await fetch(src)).arrayBuffer()).byteLength;
  await context.close();
  console.log(`page weight: HTML+CSS+JS ${kb(bytes.page)}, API answers (GET /images, /tags) ${kb(bytes.api)}, ` +
    `first ${srcs.length} thumbnails ${kb(thumbs)} (${kb(bytes.inView)} of them loaded in the first view): ${kb(bytes.page + bytes.api + thumbs)}`);
  console.log(`  with photos instead (mean 256-pixel thumbnail of the fixture photos ${kb(photoThumb)}): ` +
    `${kb(bytes.page + bytes.api + 100 * photoThumb)}`);
}

async function firstPaint(browser, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${BASE}/`, { waitUntil: 'networkidle' }); // thumbnails made and in the browser's cache
  const runs = [];
  for (let i = 0; i < 5; i++) {
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#grid > li').length >= 100);
    runs.push(await page.evaluate(async () => {
      const cardsAt = performance.now();
      const inView = [...document.querySelectorAll('#grid img')].filter((img) => img.getBoundingClientRect().top < innerHeight);
      await Promise.all(inView.map((img) => img.decode().catch(() => {})));
      const shownAt = performance.now();
      const lcp = await new Promise((resolve) => new PerformanceObserver((list) => {
        const entries = list.getEntries();
        resolve(entries[entries.length - 1].startTime);
      }).observe({ type: 'largest-contentful-paint', buffered: true }));
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
      return { fcp, lcp, cardsAt, shownAt, inView: inView.length };
    }));
  }
  // And the whole gallery, scrolled to its end (infinite scroll, 100 at a time).
  const t0 = Date.now();
  while ((await page.locator('#grid > li').count()) < SEED) {
    await page.evaluate(() => scrollTo(0, document.body.scrollHeight));
    await page.waitForTimeout(50);
  }
  const all = Date.now() - t0;
  await context.close();
  const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[2];
  console.log(`first paint ${viewport.width}x${viewport.height}, thumbnails cached (median of 5 reloads): ` +
    `FCP ${ms(median('fcp'))}, 100 cards ${ms(median('cardsAt'))}, ${runs[0].inView} thumbnails in view shown ${ms(median('shownAt'))}, ` +
    `LCP ${ms(median('lcp'))}; all ${SEED} cards by scrolling: ${ms(all)}`);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
try {
  await seed();
  if (process.env.SEED_ONLY) process.exit(0);
  const photoThumb = await thumbnailTimes(browser);
  await pageWeight(browser, photoThumb);
  await firstPaint(browser, { width: 1280, height: 800 });
  await firstPaint(browser, { width: 390, height: 844 });
} finally {
  await browser.close();
}
