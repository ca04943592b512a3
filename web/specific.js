// Which of a picture's tags say the most about it. The on-device tagger
// gives a picture every WordNet parent of what it sees (a tabby is also a
// cat, a feline, a carnivore, a mammal and an animal), each at least as
// confident as the tag below it, so confidence order puts the most general
// first. The service's /assets/tag-breadth.json says how many of the
// model's classes each tag stands for (cat 7, animal 398): fewer is more
// specific.

let breadth = new Map();

/** Fetches the vocabulary's breadths once; without them tags keep their confidence order. */
export async function load() {
  try {
    const response = await fetch('/assets/tag-breadth.json');
    if (response.ok) breadth = new Map(Object.entries((await response.json()).breadth));
  } catch { /* confidence order, then */ }
}

/**
 * A person's tags first (someone chose them), then the most specific;
 * ties, and tags the model's vocabulary does not have (another tagger's,
 * the people detector's `face`), by confidence, as the API orders them.
 * Unknown tags count as specific as a class's own name.
 */
export function ranked(tags) {
  const rank = (t) => (t.source === 'user' ? 0 : breadth.get(t.tag) ?? 1);
  return tags
    .map((t, i) => ({ t, i }))
    .sort((a, b) => rank(a.t) - rank(b.t) || a.i - b.i)
    .map(({ t }) => t);
}

/** The `n` tags that say the most about a picture. */
export const mostSpecific = (tags, n) => ranked(tags).slice(0, n);
