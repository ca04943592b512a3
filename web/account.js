// Who the reader is: the API key form (the key kept in localStorage, as
// api.apiKey does), and getting a key from the page: a visitor signs up
// (POST /users, under AUTH=open), a user makes another key for another
// device (POST /users/me/keys). A new key is shown once, as the API does.

import * as api from './api.js';
import { $ } from './dom.js';

let open = true; // whether the service serves visitors without a key (AUTH=open)
let identified = Promise.resolve(); // settles when the key's owner is known
let changed = () => {}; // what to do once the reader's key changed

/** Settles once the stored key's owner is known (what the reader may do depends on it). */
export const known = () => identified;

/** Shows the key and the account part for it; `onChange` runs after the key changes. */
export function start(isOpen, onChange) {
  open = isOpen;
  changed = onChange;
  identified = showKey();
  return identified;
}

async function useKey(key) {
  api.apiKey.set(key);
  identified = showKey();
  await identified;
  changed();
}

async function showKey() {
  const status = $('#key-status');
  const key = api.apiKey.get();
  $('#api-key').value = key;
  $('#forget-key').hidden = !key;
  api.setSelf(null);
  if (!key) {
    status.textContent = open ? 'No key: you browse as a visitor.' : 'This service needs an API key.';
    showAccount('visitor');
    return;
  }
  try {
    const me = await api.me();
    api.setSelf({ id: me.id });
    status.textContent = `Signed in as ${me.email || 'user ' + me.id}.`;
    showAccount('user');
  } catch (e) {
    // An admin key has no account of its own: /users/me answers 403.
    if (e.status === 403) api.setSelf({ admin: true });
    status.textContent = e.status === 403 ? 'Signed in with an admin key.' : `The key was refused: ${e.message}`;
    showAccount(e.status === 403 ? 'admin' : 'visitor');
  }
}

/**
 * The account part for a `visitor` (sign up, when the service lets anyone),
 * a `user` (another key) or an `admin` (nothing: an admin key has no account).
 */
function showAccount(who) {
  const account = $('#account');
  const signup = who === 'visitor' && open;
  account.hidden = !signup && who !== 'user';
  $('#signup-form').hidden = !signup;
  $('#new-key-form').hidden = who !== 'user';
  $('#account-summary').textContent = signup ? 'New here? Get a key' : 'Another key';
}

/** A key just made: shown once, selected, to copy. */
function reveal(key, note) {
  $('#new-key-note').textContent = note;
  $('#new-key-value').value = key;
  $('#new-key').hidden = false;
  $('#new-key-value').focus();
  $('#new-key-value').select();
}

$('#key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('#new-key').hidden = true;
  useKey($('#api-key').value.trim());
});
$('#forget-key').addEventListener('click', async () => {
  $('#new-key').hidden = true;
  await useKey('');
  $('#api-key').focus();
});

$('#signup-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  const status = $('#account-status');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  status.textContent = 'Creating your account…';
  try {
    const made = await api.signUp(form.elements.email.value.trim());
    form.reset();
    status.textContent = '';
    await useKey(made.api_key);
    reveal(made.api_key, 'Your account is ready and this browser now uses its key. This is the only time the key is shown: keep a copy (a password manager) to sign in elsewhere.');
  } catch (err) {
    status.textContent = `No account made: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});

$('#new-key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  const status = $('#account-status');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const made = await api.newKey(form.elements.name.value.trim());
    form.reset();
    status.textContent = '';
    reveal(made.key, `A new key “${made.name}” for another device or the command line; this browser keeps its own. This is the only time it is shown.`);
  } catch (err) {
    status.textContent = `No key made: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});

$('#copy-key').addEventListener('click', async () => {
  const field = $('#new-key-value');
  try {
    await navigator.clipboard.writeText(field.value);
    $('#account-status').textContent = 'Key copied.';
  } catch {
    // No clipboard (an insecure origin, or refused): the key stays selected to copy by hand.
    field.focus();
    field.select();
    $('#account-status').textContent = 'Copy the selected key by hand.';
  }
});
