// Uploads: files dropped anywhere on the page or chosen with the file input,
// two at a time, each with its progress bar, then its tags as they arrive
// (asynchronous uploads are polled while their status is "pending").

import * as api from './api.js';
import { $, el, announce, percent, plural, tagLink } from './dom.js';
import * as gallery from './gallery.js';

const AT_ONCE = 2;
const POLL_FOR_MS = 10 * 60 * 1000;
const queue = [];
let running = 0;
// The uploads since the queue was last empty: each is announced when there
// are few of them, and the batch as a whole when it is done.
const batch = { files: 0, done: 0, failed: 0 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const say = (text) => { if (batch.files <= 5) announce(text); };

function add(files) {
  const options = { isPrivate: $('#upload-private').checked, isAsync: $('#upload-async').checked };
  for (const file of files) queue.push(item(file, options));
  batch.files += files.length;
  if (files.length) announce(`${plural(files.length, 'file')} queued for upload`);
  pump();
}

function item(file, options) {
  const job = {
    file,
    options,
    title: el('span', { class: 'file' }, file.name),
    progress: el('progress', { max: 1, value: 0, 'aria-label': `${file.name} upload` }),
    state: el('span', { class: 'state' }, 'waiting'),
    tags: el('ul', { class: 'tag-list' }),
  };
  job.line = el('li', {}, job.title, job.progress, job.state, job.tags);
  $('#uploads').append(job.line);
  $('#clear-uploads').hidden = false;
  return job;
}

function pump() {
  while (running < AT_ONCE && queue.length) {
    running += 1;
    run(queue.shift()).finally(() => {
      running -= 1;
      pump();
      if (running || queue.length) return;
      announce(`Uploads done: ${plural(batch.done, 'picture')} uploaded${batch.failed ? `, ${batch.failed} failed` : ''}.`);
      Object.assign(batch, { files: 0, done: 0, failed: 0 });
      gallery.appendNew();
    });
  }
}

async function run(job) {
  const { file, options } = job;
  job.state.textContent = 'uploading';
  try {
    const id = await api.upload(file, {
      ...options,
      onProgress(done) {
        job.progress.value = done;
        if (done < 1) return;
        // Sent: the server tags it now (or queues it); the bar waits.
        job.progress.removeAttribute('value');
        job.state.textContent = options.isAsync ? 'saving' : 'tagging';
      },
    });
    job.title.replaceChildren(el('a', { href: `#/images/${id}` }, file.name));
    job.line.dataset.id = id;
    let picture = await api.picture(id);
    const until = Date.now() + POLL_FOR_MS;
    for (let wait = 500; picture.status === 'pending' && Date.now() < until; wait = Math.min(wait * 1.5, 5000)) {
      job.state.textContent = 'uploaded, tagging in the background';
      job.progress.removeAttribute('value');
      await sleep(wait);
      picture = await api.picture(id);
    }
    finish(job, picture);
  } catch (e) {
    job.progress.value = 0;
    job.state.textContent = `failed: ${e.message}`;
    job.state.classList.add('error');
    batch.failed += 1;
    say(`${file.name} failed: ${e.message}`);
  }
}

function finish(job, picture) {
  const name = job.file.name;
  job.progress.value = 1;
  batch.done += 1;
  if (picture.status === 'failed') {
    job.state.textContent = `uploaded, tagging failed: ${picture.failure || 'no reason given'}`;
    job.state.classList.add('error');
    say(`${name} uploaded; tagging failed`);
  } else if (picture.status === 'pending') {
    job.state.textContent = 'uploaded, still waiting to be tagged';
    say(`${name} uploaded, not tagged yet`);
  } else {
    job.state.textContent = picture.tags.length ? 'tagged' : 'uploaded, no tags above the threshold';
    job.tags.replaceChildren(...picture.tags.map((t) => el('li', {}, tagLink(t.tag), el('span', { class: 'confidence' }, ` ${percent(t.confidence)}`))));
    say(`${name} uploaded${picture.tags.length ? ', tagged ' + picture.tags.map((t) => t.tag).join(', ') : ''}`);
  }
}

$('#file-input').addEventListener('change', (e) => {
  add([...e.target.files]);
  e.target.value = '';
});

// Drop anywhere: the zone lights up while files are dragged over the page.
const zone = $('#drop-zone');
let depth = 0;
const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  depth += 1;
  zone.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  depth = Math.max(0, depth - 1);
  if (!depth) zone.classList.remove('dragging');
});
window.addEventListener('dragover', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  depth = 0;
  zone.classList.remove('dragging');
  add([...e.dataTransfer.files]);
});
/** A picture gone (deleted, or no longer there): its upload lines go, links and all. */
export function forget(id) {
  for (const li of $('#uploads').querySelectorAll(`li[data-id="${Number(id)}"]`)) li.remove();
  $('#clear-uploads').hidden = !$('#uploads').children.length;
}

$('#clear-uploads').addEventListener('click', () => {
  // Finished ones only; those still running keep their line.
  for (const li of [...$('#uploads').children]) {
    const progress = li.querySelector('progress');
    if (progress.value === 1 || li.querySelector('.error')) li.remove();
  }
  $('#clear-uploads').hidden = !$('#uploads').children.length;
});
