// The vocabularies the portal shows — providers, invoice statuses, line kinds, the match keys of
// price-list rules — each code with its name, in order. They come with config.json, written from
// chalicelib/vocabulary.py (portal_vocabulary()) by infra/ and localaws/: the portal keeps no
// copy of its own, so it offers exactly what the API accepts.

let vocabulary = {};

/** Called once at start-up with config.json's `vocabulary`. */
export function setVocabulary(value) {
  vocabulary = value ?? {};
}

/** [[code, name], …] of one vocabulary ("providers", "invoice_statuses", …), in its order. */
export function entries(kind) {
  return Object.entries(vocabulary[kind] ?? {});
}

/** The codes of one vocabulary, in its order. */
export function codes(kind) {
  return Object.keys(vocabulary[kind] ?? {});
}

/** The name of one code (undefined when the vocabulary does not know it). */
export function nameOf(kind, code) {
  return Object.hasOwn(vocabulary[kind] ?? {}, code) ? vocabulary[kind][code] : undefined;
}
