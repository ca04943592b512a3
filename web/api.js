// The Pictures API as the gallery uses it: every call sends the stored API
// key (if any) in x-api-key, and every error becomes an ApiError carrying
// the body's {error, message, detail}.

const KEY = 'pictures.apiKey';

export const apiKey = {
  get: () => localStorage.getItem(KEY) || '',
  set(value) {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, body = {}) {
    super(body.message || `the server answered ${status}`);
    this.status = status;
    this.code = body.error || 'http_' + status;
    this.detail = body.detail;
  }
}

async function errorOf(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: keep the status */ }
  return new ApiError(response.status, body);
}

function headers(anonymous) {
  const h = new Headers();
  const key = apiKey.get();
  if (key && !anonymous) h.set('x-api-key', key);
  return h;
}

/** A call to the API, with the stored key unless `anonymous`. */
export async function request(path, { method = 'GET', json, anonymous = false } = {}) {
  const init = { method, headers: headers(anonymous) };
  if (json !== undefined) {
    init.headers.set('content-type', 'application/json');
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  return response;
}

export const getJson = async (path) => (await request(path)).json();

/** The `rel="next"` target of a Link header, or null. */
export function nextLink(link) {
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link || '');
  return match ? match[1] : null;
}

/** One page of `GET /images...`: the pictures and the next page's URL. */
export async function listPage(url) {
  const response = await request(url);
  return { pictures: await response.json(), next: nextLink(response.headers.get('link')) };
}

/**
 * One picture without its data. `GET /images/{id}` always carries the
 * file's bytes in base64, so while polling (and to open a picture, whose
 * image comes from its view_url anyway) the gallery asks the listing for the
 * first picture after id - 1, which is the picture itself when the caller
 * may see it.
 */
export async function picture(id) {
  const [found] = await getJson(`/images?after=${id - 1}&limit=1`);
  if (!found || found.id !== id) throw new ApiError(404, { error: 'not_found', message: `there is no picture ${id}` });
  return found;
}

export const me = () => getJson('/users/me');
/** A new account and its first key: `{id, email, api_key, ...}` (the key is shown this once). */
// Sent without the stored key: a user's key may not create users, and a
// refused one would stop a visitor from starting over.
export const signUp = (email) => request('/users', { method: 'POST', json: email ? { email } : {}, anonymous: true }).then((r) => r.json());
/** Another key of the caller's account: `{id, name, key, created}`. */
export const newKey = (name) => request('/users/me/keys', { method: 'POST', json: name ? { name } : {} }).then((r) => r.json());
export const tags = () => getJson('/tags');
export const similar = (id) => getJson(`/images/${id}/similar`);
export const setPrivate = (id, value) => request(`/images/${id}`, { method: 'PATCH', json: { private: value } }).then((r) => r.json());
export const remove = (id) => request(`/images/${id}`, { method: 'DELETE' });

/** The palette chart as a blob: URL (the key travels in a header, which <img> cannot send). */
export async function paletteUrl(id, k) {
  const response = await request(`/images/${id}/palette.png?k=${k}`);
  return URL.createObjectURL(await response.blob());
}

/** Whether the service serves anonymous callers (AUTH=open). */
export async function isOpen() {
  const response = await fetch('/images?limit=1');
  return response.status !== 401;
}

let open = true;
export const setOpen = (value) => { open = value; };

// Who the key belongs to: {id} for a user, {admin: true}, or null.
let self = null;
export const setSelf = (value) => { self = value; };

/** Whether the caller may change or delete a picture: its owner, or an admin. */
export const mayChange = (p) => Boolean(self && (self.admin || (p.owner && p.owner === self.id)));

/**
 * A thumbnail URL an <img> can load without headers: the plain URL for a
 * public picture of an open service (cacheable for good), else the picture's
 * signed view_url moved to the thumbnail route (its signature covers the
 * picture, whichever of its files is asked for).
 */
export function thumbnailUrl(p, size = 256) {
  if (open && !p.private) return `/images/${p.id}/thumbnail?size=${size}`;
  return p.view_url.replace('/file?', '/thumbnail?') + `&size=${size}`;
}

export const absolute = (url) => new URL(url, location.origin).href;

/**
 * Uploads one file as multipart/form-data with XMLHttpRequest (fetch has no
 * upload progress). Resolves with the new picture's id; rejects with an ApiError.
 */
export function upload(file, { isPrivate = false, isAsync = false, onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const query = new URLSearchParams();
    if (isAsync) query.set('async', 'true');
    if (isPrivate) query.set('private', 'true');
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/images?${query}`);
    const key = apiKey.get();
    if (key) xhr.setRequestHeader('x-api-key', key);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new ApiError(0, { error: 'network', message: 'the upload did not reach the server' }));
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status !== 200) return reject(new ApiError(xhr.status, body));
      const failed = Object.values(body.errors || {})[0];
      if (failed) return reject(new ApiError(400, failed));
      const id = Object.values(body.ids || {})[0];
      if (id === undefined) return reject(new ApiError(500, { message: 'the server answered without an id' }));
      resolve(id);
    };
    const form = new FormData();
    form.append('image_files', file, file.name);
    xhr.send(form);
  });
}
