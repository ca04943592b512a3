// The gallery's entry point: the API key form, and a router over the
// address's hash: `#/?tags=cat...` is the grid for a search, `#/images/12`
// one picture.

import * as api from './api.js';
import { $ } from './dom.js';
import * as gallery from './gallery.js';
import * as picture from './picture.js';
import './upload.js';

let gridScroll = 0;
let opened = null; // the picture last opened, to give its thumbnail focus back
let open = true; // whether the service serves visitors without a key (AUTH=open)
let identified = Promise.resolve(); // settles when the key's owner is known

function route() {
  const hash = location.hash || '#/';
  const grid = $('#gallery-view');
  const one = $('#picture-view');
  const match = /^#\/images\/(\d+)$/.exec(hash);
  if (match) {
    if (!grid.hidden) gridScroll = scrollY;
    grid.hidden = true;
    one.hidden = false;
    opened = Number(match[1]);
    scrollTo(0, 0);
    const id = opened;
    // What the reader may do with it depends on who the reader is.
    identified.then(() => { if (location.hash === hash) picture.show(id); });
    return;
  }
  picture.leave();
  document.title = 'Pictures';
  one.hidden = true;
  one.replaceChildren();
  const wasHidden = grid.hidden;
  grid.hidden = false;
  gallery.show(gallery.searchOf(hash));
  if (wasHidden) {
    scrollTo(0, gridScroll);
    $(`#grid [data-id="${opened}"] .thumb`)?.focus({ preventScroll: true });
  }
}

// Escape leaves a picture for the grid.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('#picture-view').hidden && !e.defaultPrevented) location.hash = gallery.hash();
});

async function showKey() {
  const status = $('#key-status');
  const key = api.apiKey.get();
  $('#api-key').value = key;
  $('#forget-key').hidden = !key;
  api.setSelf(null);
  if (!key) {
    status.textContent = open ? 'No key: you browse as a visitor.' : 'This service needs an API key.';
    return;
  }
  try {
    const me = await api.me();
    api.setSelf({ id: me.id });
    status.textContent = `Signed in as ${me.email || 'user ' + me.id}.`;
  } catch (e) {
    // An admin key has no account of its own: /users/me answers 403.
    if (e.status === 403) api.setSelf({ admin: true });
    status.textContent = e.status === 403 ? 'Signed in with an admin key.' : `The key was refused: ${e.message}`;
  }
}

$('#key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  api.apiKey.set($('#api-key').value.trim());
  identified = showKey();
  await identified;
  gallery.refresh();
});
$('#forget-key').addEventListener('click', async () => {
  api.apiKey.set('');
  identified = showKey();
  await identified;
  gallery.refresh();
  $('#api-key').focus();
});

window.addEventListener('hashchange', route);
open = await api.isOpen();
api.setOpen(open);
identified = showKey();
gallery.loadTags();
route();
