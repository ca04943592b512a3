// The gallery's entry point: a router over the address's hash:
// `#/?tags=cat...` is the grid for a search, `#/images/12` one picture.

import * as account from './account.js';
import * as api from './api.js';
import { $ } from './dom.js';
import * as gallery from './gallery.js';
import * as picture from './picture.js';
import * as specific from './specific.js';
import './upload.js';

let gridScroll = 0;
let opened = null; // the picture last opened, to give its thumbnail focus back

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
    account.known().then(() => { if (location.hash === hash) picture.show(id); });
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

window.addEventListener('hashchange', route);
const [open] = await Promise.all([api.isOpen(), specific.load()]);
api.setOpen(open);
account.start(open, () => gallery.refresh());
gallery.loadTags();
route();
