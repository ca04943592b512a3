// Small helpers to build the page's elements (never innerHTML: names and
// tags come from users).

import { mostSpecific } from './specific.js';

/** el('a', {href: '#/', class: 'tag'}, 'text', child...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Says something to screen readers: a line added to the page's polite live log. */
export function announce(text) {
  const log = $('#announcer');
  log.append(el('p', {}, text));
  while (log.children.length > 5) log.firstElementChild.remove();
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const percent = (confidence) => `${Math.round(confidence * 10) / 10}%`;

/** The link that searches one tag. */
export const tagLink = (tag, extra) => el('a', { href: `#/?tags=${encodeURIComponent(tag)}`, class: 'tag' }, tag, extra);

/** What a picture is, for alt text and titles: its name and most specific tags. */
export function describe(p) {
  const tags = mostSpecific(p.tags, 4).map((t) => t.tag).join(', ');
  const name = p.name || `Picture ${p.id}`;
  if (p.status === 'pending') return `${name}, not tagged yet`;
  return tags ? `${name}: ${tags}` : name;
}
