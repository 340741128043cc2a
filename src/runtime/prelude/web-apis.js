// URL, URLSearchParams, atob and btoa from core-js (standard-conformant, and small enough to
// evaluate per isolate); structuredClone from @ungap/structured-clone.
import 'core-js/actual/url';
import 'core-js/actual/url-search-params';
import 'core-js/actual/atob';
import 'core-js/actual/btoa';
import structuredCloneImpl from '@ungap/structured-clone';

globalThis.structuredClone = function structuredClone(value, options) {
  return structuredCloneImpl(value, options);
};
