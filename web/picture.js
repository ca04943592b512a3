// One picture: the full image (through its signed view_url), its tags,
// details, EXIF, colours and palette chart, similar pictures, and what its
// owner can do: make it private or public, copy a view link, delete it.

import * as api from './api.js';
import { $, el, announce, percent, tagLink, describe } from './dom.js';
import * as gallery from './gallery.js';

let palette = null; // the blob: URL of the palette chart shown
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
      el('figure', { class: 'full' },
        el('img', { src: p.view_url, alt: describe(p), width: p.width, height: p.height })),
      el('div', { class: 'facts' }, actions(p), tagSection(p), details(p), colours(p))),
    similar(p));
  heading.focus();
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

function colours(p) {
  if (!p.colors.length) return null;
  const chart = el('img', { class: 'palette', alt: `Pie chart of the dominant colours: ${p.colors.map((c) => c.hex).join(', ')}`, hidden: true });
  // As many colours as the picture lists: the chart then shows the same ones.
  api.paletteUrl(p.id, p.colors.length).then((url) => {
    if (!chart.isConnected) return URL.revokeObjectURL(url); // the reader moved on
    palette = url;
    chart.src = url;
    chart.hidden = false;
  }).catch(() => {});
  return el('section', {}, el('h3', {}, 'Colours'),
    el('ul', { class: 'swatches' }, p.colors.map((c) => {
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.backgroundColor = c.hex; // CSSOM: allowed by the page's style-src 'self'
      return el('li', {}, swatch, el('a', { href: `#/?color=${encodeURIComponent(c.hex)}` }, c.hex), ` ${Math.round(c.fraction * 100)}%`);
    })),
    chart);
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
