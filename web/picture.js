// One picture: the full image (through its signed view_url, or a rendition
// where browsers cannot draw the format), its tags, details, EXIF, colours
// and palette chart, similar pictures, and what its owner can do: make it
// private or public, copy a view link, delete it.

import * as api from './api.js';
import { $, el, announce, percent, tagLink, describe } from './dom.js';
import * as gallery from './gallery.js';
import * as uploads from './upload.js';

/** Formats no common browser draws (Chromium has no TIFF or HEIC decoder; AVIF not everywhere). */
const UNDRAWABLE = new Set(['tiff', 'heic', 'heif', 'avif']);
/** The long side of the rendition shown instead (the thumbnail route's largest). */
const RENDITION = 1024;

/** Whether a browser can draw the picture's own file. */
export const drawable = (p) => !UNDRAWABLE.has(String(p.format || '').toLowerCase());

let palette = null; // the blob: URL of the palette chart last downloaded
let showing = 0; // counts the pictures opened: a late answer for an earlier one is dropped

function release() {
  showing += 1;
  if (palette) URL.revokeObjectURL(palette);
  palette = null;
}

const back = () => el('a', { href: gallery.hash(), class: 'back' }, '← Back to the pictures');

export async function show(id) {
  const view = $('#picture-view');
  release();
  const mine = showing;
  view.replaceChildren(back(), el('p', { role: 'status' }, 'Loading the picture…'));
  let p;
  try {
    p = await api.picture(id);
  } catch (e) {
    if (mine !== showing) return;
    const heading = el('h2', { tabindex: -1 }, 'Picture not found');
    const why = e.status === 404 ? 'There is no such picture, or it is not yours to see.' : e.message;
    if (e.status === 404) uploads.forget(id);
    view.replaceChildren(back(), heading, el('p', {}, why));
    heading.focus();
    return;
  }
  if (mine === showing) render(view, p);
}

function render(view, p) {
  document.title = `${p.name || `Picture ${p.id}`} – Pictures`;
  const heading = el('h2', { tabindex: -1, id: 'picture-title' }, p.name || `Picture ${p.id}`);
  view.replaceChildren(back(), heading,
    el('div', { class: 'picture-layout' },
      full(p),
      el('div', { class: 'facts' }, actions(p), tagSection(p), details(p), colours(p))),
    similar(p));
  heading.focus();
}

/**
 * The picture as large as fits (never larger than its own pixels, at most
 * 80% of the window's height), at its own aspect ratio: `.frame` is sized
 * from the picture's width and height, the image fills it, and `.overlay`
 * lies exactly over the image for what is drawn on the picture (children
 * placed in percent of its width and height: `overlayOf(view)`).
 */
function full(p) {
  const original = drawable(p);
  const rendition = api.thumbnailUrl(p, RENDITION);
  const img = el('img', { src: original ? p.view_url : rendition, alt: describe(p), width: p.width, height: p.height, decoding: 'async' });
  const frame = el('div', { class: 'frame' }, img, el('div', { class: 'overlay' }, ...objectBoxes(p)));
  fit(frame, p.width, p.height);
  const caption = el('figcaption', { class: 'full-caption' });
  const download = el('a', { href: p.view_url, download: fileName(p) }, `Download the original (${(p.format || 'file').toUpperCase()}, ${p.size} KB)`);
  const shownAsRendition = (why) => caption.replaceChildren(el('span', {}, why), ' ', download);
  if (original) caption.replaceChildren(download);
  else shownAsRendition(`Shown as a ${RENDITION}-pixel copy: browsers cannot draw ${p.format.toUpperCase()} files.`);
  img.addEventListener('load', () => {
    // EXIF orientation can turn the file's width and height around on screen.
    const { naturalWidth: w, naturalHeight: h } = img;
    if (!w || !h || !p.width || !p.height) return fit(frame, w, h);
    const turned = Math.abs(w / h - p.height / p.width) < Math.abs(w / h - p.width / p.height);
    fit(frame, turned ? p.height : p.width, turned ? p.width : p.height);
  });
  if (original) {
    img.addEventListener('error', () => {
      // A file this browser cannot draw after all: the rendition, once.
      img.src = rendition;
      shownAsRendition('Shown as a copy: this browser cannot draw the original file.');
    }, { once: true });
  }
  return el('figure', { class: 'full' }, frame, caption);
}

/**
 * What the object detector found, each as a box over the picture with its
 * name: the API's boxes are relative (0..1 of the width and height, from
 * the top-left corner), so they are percentages of the overlay.
 */
function objectBoxes(p) {
  return (p.objects || []).map((o) => {
    const name = `${o.label} ${Math.round(o.confidence)}%`;
    const box = el('div', { class: 'object-box', title: name, 'aria-label': name, role: 'img' },
      el('span', { class: 'object-label' }, name));
    for (const [side, value] of [['left', o.box.x], ['top', o.box.y], ['width', o.box.w], ['height', o.box.h]]) {
      box.style.setProperty(side, `${(value * 100).toFixed(2)}%`); // CSSOM: allowed by style-src 'self'
    }
    return box;
  });
}

/** Sizes a frame for a picture of `w` x `h` pixels (unknown: as the image loads). */
function fit(frame, w, h) {
  if (!w || !h) return;
  frame.style.setProperty('--w', `${w}px`); // CSSOM: allowed by the page's style-src 'self'
  frame.style.setProperty('--ratio', String(w / h));
}

/** The layer over the picture shown in `view`, for marks drawn on it. */
export const overlayOf = (view = $('#picture-view')) => $('.full .overlay', view);

const EXTENSIONS = { jpeg: 'jpg', tiff: 'tif' };

function fileName(p) {
  if (p.name) return p.name;
  const format = String(p.format || '').toLowerCase();
  return `picture-${p.id}${format ? '.' + (EXTENSIONS[format] || format) : ''}`;
}

function actions(p) {
  const status = el('p', { class: 'action-status', role: 'status' });
  const toggle = el('input', { type: 'checkbox', id: 'private-toggle', checked: p.private });
  toggle.addEventListener('change', async () => {
    toggle.disabled = true;
    try {
      const changed = await api.setPrivate(p.id, toggle.checked);
      Object.assign(p, changed);
      gallery.update(p);
      status.textContent = p.private ? 'Private now: only you can see it.' : 'Public now: anyone can see it.';
    } catch (e) {
      toggle.checked = p.private;
      status.textContent = `Not changed: ${e.message}`;
    } finally {
      toggle.disabled = false;
    }
  });
  const copy = el('button', { type: 'button', onclick: () => copyLink(p, status) }, 'Copy view link');
  const remove = el('button', { type: 'button', class: 'danger', onclick: () => removePicture(p, status) }, 'Delete…');
  // Privacy and deletion are for the owner (and admins); a link for anyone.
  const owner = api.mayChange(p);
  return el('section', { class: 'actions', 'aria-label': 'Actions' },
    owner ? el('label', {}, toggle, ' Private (only I can see it)') : null,
    el('div', { class: 'buttons' }, copy, owner ? remove : null), status);
}

async function copyLink(p, status) {
  const url = api.absolute(p.view_url);
  const expires = new Date(Number(new URL(url).searchParams.get('expires')) * 1000);
  const until = expires.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  try {
    await navigator.clipboard.writeText(url);
    status.textContent = `Link copied; it works until ${until}.`;
  } catch {
    // No clipboard (an insecure origin, or refused): show it, selected, to copy by hand.
    const field = el('input', { type: 'url', readOnly: true, value: url, 'aria-label': 'View link', class: 'link-field' });
    status.replaceChildren(`Copy this link (it works until ${until}): `, field);
    field.select();
  }
}

async function removePicture(p, status) {
  if (!confirm(`Delete “${p.name || 'picture ' + p.id}” for good? This cannot be undone.`)) return;
  try {
    await api.remove(p.id);
    gallery.forget(p.id);
    uploads.forget(p.id);
    announce(`${p.name || 'The picture'} was deleted.`);
    location.hash = gallery.hash();
  } catch (e) {
    status.textContent = `Not deleted: ${e.message}`;
  }
}

function tagSection(p) {
  const list = p.tags.map((t) => el('li', {},
    tagLink(t.tag),
    el('span', { class: 'confidence' }, ` ${percent(t.confidence)}`),
    t.source ? el('span', { class: 'badge' }, t.source) : null));
  const empty = p.status === 'pending' ? 'Not tagged yet.' : 'No tags.';
  return el('section', {}, el('h3', {}, 'Tags'), list.length ? el('ul', { class: 'tag-list' }, list) : el('p', {}, empty));
}

function details(p) {
  const rows = [
    ['Uploaded', `${p.date} UTC`],
    ['Size', `${p.size} KB`],
    ['Dimensions', p.width && `${p.width} × ${p.height} px`],
    ['Format', p.format && p.format.toUpperCase()],
    ['Visibility', p.private ? 'private' : 'public'],
    ['Status', p.status + (p.failure ? `: ${p.failure}` : '')],
    ['Camera', p.camera],
    ['Taken', p.taken_at],
    ['Location', p.gps && el('a', { href: `geo:${p.gps.lat},${p.gps.lon}` }, `${p.gps.lat.toFixed(5)}, ${p.gps.lon.toFixed(5)}`)],
    ['Faces', p.faces],
  ].filter(([, value]) => value !== null && value !== undefined && value !== '');
  return el('section', {}, el('h3', {}, 'Details'),
    el('dl', { class: 'details' }, rows.map(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])));
}

/**
 * The dominant colours as a pie (clockwise from 12 o'clock, as the API's
 * palette.png draws them) beside its legend, drawn by the page so that the
 * labels are text at the page's size on any screen (the PNG's, scaled to a
 * phone, were 6 px); the API's chart is a download away.
 */
function colours(p) {
  if (!p.colors.length) return null;
  const total = p.colors.reduce((sum, c) => sum + c.fraction, 0) || 1;
  const share = (c) => `${Math.round(c.fraction * 100)}%`;
  let from = 0;
  const stops = p.colors.map((c) => {
    const to = from + (c.fraction / total) * 100;
    const stop = `${c.hex} ${from.toFixed(2)}% ${to.toFixed(2)}%`;
    from = to;
    return stop;
  });
  const pie = el('div', { class: 'pie', role: 'img', 'aria-label': `Pie chart of the dominant colours: ${p.colors.map((c) => `${c.hex} ${share(c)}`).join(', ')}` });
  pie.style.background = `conic-gradient(${stops.join(', ')})`; // CSSOM: allowed by the page's style-src 'self'
  const legend = el('ul', { class: 'swatches' }, p.colors.map((c) => {
    const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = c.hex;
    return el('li', {}, swatch, el('a', { href: `#/?color=${encodeURIComponent(c.hex)}` }, c.hex), ` ${share(c)}`);
  }));
  const status = el('span', { class: 'action-status', role: 'status' });
  const download = el('button', { type: 'button', class: 'quiet', onclick: () => downloadChart(p, status) }, 'Download the chart (PNG)');
  return el('section', {}, el('h3', {}, 'Colours'), el('div', { class: 'palette' }, pie, legend), el('p', {}, download, ' ', status));
}

/** The API's palette chart, fetched with the key (an <img> or a link cannot send it), saved as a file. */
async function downloadChart(p, status) {
  const mine = showing;
  try {
    const url = await api.paletteUrl(p.id, p.colors.length);
    if (mine !== showing) return URL.revokeObjectURL(url); // the reader moved on
    if (palette) URL.revokeObjectURL(palette);
    palette = url;
    const link = el('a', { href: url, download: `palette-${p.id}.png`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    status.textContent = '';
  } catch (e) {
    status.textContent = `No chart: ${e.message}`;
  }
}

function similar(p) {
  const list = el('ul', { class: 'grid small' });
  const note = el('p', { role: 'status' }, 'Looking for similar pictures…');
  api.similar(p.id).then((found) => {
    const others = found.filter((s) => s.id !== p.id);
    list.replaceChildren(...others.map(gallery.card));
    note.textContent = others.length ? '' : 'No similar pictures.';
  }).catch((e) => { note.textContent = `Could not look for similar pictures: ${e.message}`; });
  return el('section', { class: 'similar' }, el('h3', {}, 'Similar pictures'), note, list);
}

export const leave = release;
