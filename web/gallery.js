// The grid of thumbnails, newest first as a camera roll (a page of
// GET /images?order=newest at a time, the next one when the end of the grid
// scrolls into view; new uploads go on top), the search form and the tag cloud.

import * as api from './api.js';
import { $, el, describe, plural, tagLink } from './dom.js';
import { mostSpecific } from './specific.js';

const FIELDS = ['tags', 'name', 'min_date', 'max_date', 'color', 'color_distance'];
const PAGE = 100;
/** The API's colour distance when none is given (RGB, as color_distance counts). */
const COLOR_DISTANCE = '48';

let query = null; // the search the grid shows, as a query string
let next = null; // the URL of the grid's next (older) page
let loading = false;
let generation = 0; // counts searches: answers to an older one are dropped
let newestId = 0; // the grid's first (newest) picture: uploads come after it
let oldestId = Infinity; // its last: the next page comes before it
let knownTags = [];
let wantNew = false; // uploads finished while a page was loading
let listed = false; // whether a page of this search came (what is newer is then known)
let catchingUp = false; // appendNew is at work
let again = false; // more uploads finished meanwhile
let sentinelVisible = false; // whether the end of the grid is in (or near) view

/** The search a hash such as `#/?tags=cat&color=%23aa0000` asks for. */
export function searchOf(hash) {
  const params = new URLSearchParams(hash.split('?')[1] || '');
  const search = new URLSearchParams();
  for (const name of FIELDS) {
    const value = (params.get(name) || '').trim();
    if (value) search.set(name, value);
  }
  // A distance means nothing without its colour (the API refuses it alone).
  if (!search.has('color') || search.get('color_distance') === COLOR_DISTANCE) search.delete('color_distance');
  return search.toString();
}

/** The address of the grid as last shown. */
export const hash = () => (query ? `#/?${query}` : '#/');

/** Shows the search `q` (reloading the grid only when it changed). */
export function show(q) {
  fillForm(new URLSearchParams(q));
  if (q !== query) reload(q);
}

/** Loads the grid again, for the same search (after the key changed). */
export function refresh() {
  reload(query ?? '');
  loadTags();
}

function reload(q) {
  generation += 1;
  loading = false;
  query = q;
  newestId = 0;
  oldestId = Infinity;
  listed = false;
  $('#grid').replaceChildren();
  next = `/images?${q ? q + '&' : ''}order=newest&limit=${PAGE}`;
  $('#search-summary').textContent = summary(new URLSearchParams(q));
  loadMore();
}

function summary(params) {
  const parts = [];
  if (params.get('tags')) parts.push(`tagged ${params.get('tags')}`);
  if (params.get('name')) parts.push(`named like “${params.get('name')}”`);
  if (params.get('min_date')) parts.push(`from ${params.get('min_date')}`);
  if (params.get('max_date')) parts.push(`until ${params.get('max_date')}`);
  if (params.get('color')) {
    const distance = params.get('color_distance');
    const named = [...$('#search-color-distance').options].find((o) => o.value === distance);
    const how = distance ? ` (${named ? named.textContent.toLowerCase() : `within ${distance}`})` : '';
    parts.push(`coloured near ${params.get('color')}${how}`);
  }
  return parts.length ? `Pictures ${parts.join(', ')}` : 'All pictures';
}

function status(text) {
  $('#grid-status').textContent = text;
}

function count() {
  const shown = $('#grid').children.length;
  status(shown === 0 ? 'No pictures match.' : plural(shown, 'picture') + (next ? ', more below' : ''));
}

async function loadMore() {
  if (loading || !next) return;
  loading = true;
  const mine = generation;
  status('Loading pictures…');
  try {
    const page = await api.listPage(next);
    if (mine !== generation) return;
    next = page.next;
    append(page.pictures);
    listed = true;
    count();
  } catch (e) {
    if (mine !== generation) return;
    next = null;
    status(e.status === 401 ? 'This service needs an API key: paste yours above.' : `Could not load pictures: ${e.message}`);
  } finally {
    if (mine === generation) {
      loading = false;
      $('#more').hidden = !next;
    }
  }
  if (wantNew) appendNew();
  // A screen tall enough to show the whole page at once: keep going.
  if (mine === generation && next && sentinelVisible) loadMore();
}

/** A page of older pictures (newest first), below the grid's last. */
function append(pictures) {
  const older = pictures.filter((p) => p.id < oldestId);
  $('#grid').append(...older.map(card));
  if (!older.length) return;
  oldestId = older[older.length - 1].id;
  newestId = Math.max(newestId, older[0].id);
}

/**
 * After uploads: the pictures newer than the grid's first, on top. They are
 * asked for oldest first after that id (every page of them), so that none
 * is missed however many came.
 */
export async function appendNew() {
  wantNew = loading;
  if (loading || !listed) return;
  if (catchingUp) {
    // One at a time (two would put the same pictures on top twice): again after this one.
    again = true;
    return;
  }
  catchingUp = true;
  const mine = generation;
  try {
    let url = `/images?${query ? query + '&' : ''}limit=${PAGE}&after=${newestId}`;
    while (url) {
      const page = await api.listPage(url);
      if (mine !== generation) return;
      const newer = page.pictures.filter((p) => p.id > newestId).reverse(); // newest first
      $('#grid').prepend(...newer.map(card));
      if (newer.length) {
        newestId = newer[0].id;
        oldestId = Math.min(oldestId, newer[newer.length - 1].id);
      }
      url = page.next;
    }
    count();
  } catch { /* the next search shows them */ } finally {
    catchingUp = false;
  }
  if (again) {
    again = false;
    appendNew();
    return;
  }
  loadTags();
}

export function card(p) {
  const name = p.name || `Picture ${p.id}`;
  return el('li', { class: 'card', 'data-id': p.id },
    el('a', { href: `#/images/${p.id}`, class: 'thumb' },
      el('img', { src: api.thumbnailUrl(p), alt: describe(p), loading: 'lazy', decoding: 'async', width: 256, height: 256 })),
    el('p', { class: 'card-name', title: name }, name),
    el('p', { class: 'card-tags' }, mostSpecific(p.tags, 3).map((t) => tagLink(t.tag)),
      p.status === 'pending' ? el('span', { class: 'badge' }, 'tagging…') : null,
      p.private ? el('span', { class: 'badge' }, 'private') : null));
}

// On a phone the tag cloud starts folded, so that the pictures come first.
if (matchMedia('(max-width: 40rem)').matches) $('#cloud').open = false;

// Infinite scroll: the "more" button doubles as the sentinel.
new IntersectionObserver((entries) => {
  sentinelVisible = entries.some((e) => e.isIntersecting);
  if (sentinelVisible) loadMore();
}, { rootMargin: '600px' }).observe($('#more'));
$('#more').addEventListener('click', loadMore);

// Arrow keys move between thumbnails, row by row as the grid lays them out.
$('#grid').addEventListener('keydown', (e) => {
  const step = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
  const columns = getComputedStyle($('#grid')).gridTemplateColumns.split(' ').length;
  const move = step ?? { ArrowUp: -columns, ArrowDown: columns }[e.key];
  if (!move || !e.target.matches('.thumb')) return;
  const thumbs = [...$('#grid').querySelectorAll('.thumb')];
  const target = thumbs[thumbs.indexOf(e.target) + move];
  if (target) {
    e.preventDefault();
    target.focus();
  }
});

// The search form writes its search into the address; the router shows it.
function fillForm(params) {
  const form = $('#search-form');
  for (const name of ['tags', 'name', 'min_date', 'max_date']) form.elements[name].value = params.get(name) || '';
  form.elements.use_color.checked = params.has('color');
  if (params.has('color')) form.elements.color.value = params.get('color');
  const distance = params.get('color_distance') || COLOR_DISTANCE;
  const choice = form.elements.color_distance;
  // A distance from a link that the list does not have becomes one of its choices.
  if (![...choice.options].some((o) => o.value === distance)) choice.append(el('option', { value: distance }, `within ${distance}`));
  choice.value = distance;
  if (['name', 'min_date', 'max_date', 'color'].some((name) => params.has(name))) $('#more-filters').open = true;
}

$('#search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target;
  const params = new URLSearchParams();
  const tags = form.elements.tags.value.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length) params.set('tags', tags.join(','));
  for (const name of ['name', 'min_date', 'max_date']) {
    if (form.elements[name].value.trim()) params.set(name, form.elements[name].value.trim());
  }
  if (form.elements.use_color.checked) {
    params.set('color', form.elements.color.value);
    const distance = form.elements.color_distance.value;
    if (distance !== COLOR_DISTANCE) params.set('color_distance', distance);
  }
  location.hash = `#/?${params}`;
});
$('#search-form').addEventListener('reset', () => { location.hash = '#/'; });
for (const name of ['color', 'color_distance']) {
  $('#search-form').elements[name].addEventListener('input', () => { $('#search-form').elements.use_color.checked = true; });
}

// Suggestions for the last of the comma-separated tags being typed.
$('#search-form').elements.tags.addEventListener('input', (e) => {
  const typed = e.target.value;
  const head = typed.includes(',') ? typed.slice(0, typed.lastIndexOf(',') + 1) + ' ' : '';
  const chosen = new Set(head.split(',').map((t) => t.trim()));
  const options = knownTags.filter((t) => !chosen.has(t.tag)).slice(0, 200);
  $('#tag-suggestions').replaceChildren(...options.map((t) => el('option', { value: head + t.tag })));
});

/** The tag cloud and the search's suggestions, from GET /tags. */
export async function loadTags() {
  try {
    knownTags = await api.tags();
  } catch {
    knownTags = [];
  }
  $('#tag-suggestions').replaceChildren(...knownTags.slice(0, 200).map((t) => el('option', { value: t.tag })));
  const top = knownTags.slice(0, 60);
  const most = Math.max(1, ...top.map((t) => t.n_images));
  const weight = (n) => 1 + Math.round((4 * Math.log(n)) / Math.log(most + 1));
  $('#tag-cloud').replaceChildren(...top
    .sort((a, b) => a.tag.localeCompare(b.tag))
    .map((t) => {
      const count = el('span', { class: 'count' }, ` ${t.n_images}`, el('span', { class: 'visually-hidden' }, t.n_images === 1 ? ' picture' : ' pictures'));
      const link = tagLink(t.tag, count);
      link.classList.add(`w${weight(t.n_images)}`);
      return el('li', {}, link);
    }));
  $('#tags-empty').hidden = knownTags.length > 0;
}

/** A picture gone (deleted): its card goes too. */
export function forget(id) {
  $(`#grid [data-id="${id}"]`)?.remove();
  count();
}

/** A picture changed (made private or public): its card shows it. */
export function update(p) {
  $(`#grid [data-id="${p.id}"]`)?.replaceWith(card(p));
}
